using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace QrCalling.Testing;

/// <summary>Leave-a-message's client side in .NET, byte for byte what the web app does in WebCrypto: the owner's ECDH
/// P-256 key pair; the caller seals with a fresh P-256 key, ECDH (the shared X coordinate), HKDF-SHA256 (salt: the call
/// id in UTF-8, info <c>qrcalling-message-v1</c>) to an AES-256-GCM key, a random 12-byte nonce and the call id as
/// associated data. All values base64url without padding.</summary>
public static class MessageCrypto
{
    private const string Info = "qrcalling-message-v1";

    /// <summary>A new owner key pair and its public point (65 bytes, base64url).</summary>
    public static (ECDiffieHellman Key, string PublicKey) CreateOwnerKey()
    {
        var key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        return (key, PointOf(key));
    }

    /// <summary>Seals <paramref name="text"/> for the owner's public key and call.</summary>
    public static (string EphemeralPublicKey, string Iv, string Ciphertext) Seal(string ownerPublicKey, string callId, string text)
    {
        using var ephemeral = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        using var owner = FromPoint(ownerPublicKey);
        var aesKey = DeriveKey(ephemeral, owner.PublicKey, callId);
        var iv = RandomNumberGenerator.GetBytes(12);
        var plain = Encoding.UTF8.GetBytes(text);
        var output = new byte[plain.Length + 16];
        using (var aes = new AesGcm(aesKey, 16))
        {
            aes.Encrypt(iv, plain, output.AsSpan(0, plain.Length), output.AsSpan(plain.Length), Encoding.UTF8.GetBytes(callId));
        }
        return (PointOf(ephemeral), Base64Url.EncodeToString(iv), Base64Url.EncodeToString(output));
    }

    /// <summary>Opens a sealed message with the owner's private key; throws when it does not authenticate.</summary>
    public static string Open(ECDiffieHellman ownerKey, string callId, string ephemeralPublicKey, string iv, string ciphertext)
    {
        ArgumentNullException.ThrowIfNull(ownerKey);
        using var ephemeral = FromPoint(ephemeralPublicKey);
        var aesKey = DeriveKey(ownerKey, ephemeral.PublicKey, callId);
        var sealedBytes = Base64Url.DecodeFromChars(ciphertext);
        var plain = new byte[sealedBytes.Length - 16];
        using (var aes = new AesGcm(aesKey, 16))
        {
            aes.Decrypt(Base64Url.DecodeFromChars(iv), sealedBytes.AsSpan(0, plain.Length), sealedBytes.AsSpan(plain.Length), plain, Encoding.UTF8.GetBytes(callId));
        }
        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] DeriveKey(ECDiffieHellman own, ECDiffieHellmanPublicKey other, string callId)
    {
        var shared = own.DeriveRawSecretAgreement(other);
        return HKDF.DeriveKey(HashAlgorithmName.SHA256, shared, 32, Encoding.UTF8.GetBytes(callId), Encoding.UTF8.GetBytes(Info));
    }

    private static string PointOf(ECDiffieHellman key)
    {
        var q = key.ExportParameters(false).Q;
        return Base64Url.EncodeToString([0x04, .. q.X!, .. q.Y!]);
    }

    private static ECDiffieHellman FromPoint(string point)
    {
        var bytes = Base64Url.DecodeFromChars(point);
        return ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = bytes[1..33], Y = bytes[33..] },
        });
    }
}
