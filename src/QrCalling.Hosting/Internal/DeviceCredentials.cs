using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>Server-issued owner device ids, each bound to its owner by a credential: <c>qd_</c> + 16 random bytes, and
/// <c>base64url(HMAC-SHA256(key, ownerId + "\n" + deviceId))</c>. Stateless: the key is derived from the pepper (so
/// every instance and every restart with the same pepper accepts the same credentials), or random per process without
/// one. A device id with the <c>qd_</c> prefix is accepted only with its credential, so another session of the same
/// account cannot act as a device it was not given; ids without the prefix (v1 clients) are taken as claimed.</summary>
internal sealed class DeviceCredentials(IOptions<QrCallingOptions> options)
{
    public const string BoundPrefix = "qd_";
    private readonly byte[] _key = options.Value.Pepper is { Length: > 0 } pepper
        ? HMACSHA256.HashData(Encoding.UTF8.GetBytes(pepper), "qrcalling device credentials v1"u8)
        : RandomNumberGenerator.GetBytes(32);

    /// <summary>A new device id and its credential for an owner.</summary>
    public (string DeviceId, string Credential) Issue(string ownerId)
    {
        var deviceId = BoundPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        return (deviceId, Credential(ownerId, deviceId));
    }

    /// <summary>True when <paramref name="credential"/> is the one issued for this owner and device.</summary>
    public bool Verify(string ownerId, string deviceId, string? credential) =>
        credential is { Length: > 0 and < 100 }
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Credential(ownerId, deviceId)), Encoding.ASCII.GetBytes(credential));

    private string Credential(string ownerId, string deviceId) =>
        Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(ownerId + "\n" + deviceId)));
}
