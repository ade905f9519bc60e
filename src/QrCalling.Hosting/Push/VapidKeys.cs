using System.Security.Cryptography;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using QrCalling.Storage;

namespace QrCalling.Hosting.Internal;

/// <summary>The server's VAPID key pair: from <see cref="QrCallingPushOptions"/> when configured, else generated once and
/// kept in the storage (the first pair stored wins, so several instances agree). Read once per process.</summary>
internal sealed class VapidKeys(IStorage storage, IOptions<QrCallingPushOptions> options)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private VapidKeyPair? _keys;

    public async ValueTask<VapidKeyPair> GetAsync(CancellationToken cancellationToken)
    {
        if (_keys is { } known)
        {
            return known;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_keys is null)
            {
                var o = options.Value;
                _keys = !string.IsNullOrWhiteSpace(o.VapidPublicKey)
                    ? new VapidKeyPair(o.VapidPublicKey.Trim(), o.VapidPrivateKey!.Trim())
                    : await storage.PushSubscriptions.GetOrAddVapidKeysAsync(Generate(), cancellationToken).ConfigureAwait(false);
            }
            return _keys;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A fresh P-256 pair in VAPID's encoding.</summary>
    public static VapidKeyPair Generate()
    {
        using var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var p = key.ExportParameters(includePrivateParameters: true);
        return new VapidKeyPair(WebEncoders.Base64UrlEncode([0x04, .. p.Q.X!, .. p.Q.Y!]), WebEncoders.Base64UrlEncode(p.D!));
    }

    /// <summary>True when the two strings are a P-256 pair in VAPID's encoding (the private key's public point is the
    /// public key).</summary>
    public static bool IsValidPair(string publicKey, string privateKey)
    {
        try
        {
            var q = WebEncoders.Base64UrlDecode(publicKey.Trim());
            var d = WebEncoders.Base64UrlDecode(privateKey.Trim());
            if (q.Length != 65 || q[0] != 0x04 || d.Length != 32)
            {
                return false;
            }
            using var key = ECDsa.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                D = d,
                Q = new ECPoint { X = q[1..33], Y = q[33..] },
            });
            var data = "vapid"u8.ToArray();
            return key.VerifyData(data, key.SignData(data, HashAlgorithmName.SHA256), HashAlgorithmName.SHA256);
        }
        catch (Exception ex) when (ex is FormatException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="p256dh"/> is base64url of a 65-byte uncompressed point on P-256 and
    /// <paramref name="auth"/> base64url of 16 bytes.</summary>
    public static bool AreValidSubscriptionKeys(string p256dh, string auth, out string? problem)
    {
        problem = null;
        byte[] q;
        try
        {
            q = WebEncoders.Base64UrlDecode(p256dh);
        }
        catch (FormatException)
        {
            problem = "keys.p256dh must be base64url.";
            return false;
        }
        if (q.Length != 65 || q[0] != 0x04)
        {
            problem = "keys.p256dh must be a 65-byte uncompressed P-256 point.";
            return false;
        }
        try
        {
            using var key = ECDiffieHellman.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = q[1..33], Y = q[33..] } });
        }
        catch (CryptographicException)
        {
            problem = "keys.p256dh is not a point on P-256.";
            return false;
        }
        try
        {
            if (WebEncoders.Base64UrlDecode(auth).Length != 16)
            {
                problem = "keys.auth must be 16 bytes.";
                return false;
            }
        }
        catch (FormatException)
        {
            problem = "keys.auth must be base64url.";
            return false;
        }
        return true;
    }
}
