using System.Buffers.Text;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace QrCalling.Client.E2E;

/// <summary>The derivations of docs/e2e.md, one function each, so that the test vectors can check every step.</summary>
internal static class E2ECrypto
{
    public const int PublicKeyLength = 65;
    public const int HeaderLength = 10;
    public const int TagLength = 16;
    public const byte InitiatorToResponder = 1;
    public const byte ResponderToInitiator = 2;

    private static readonly byte[] TranscriptLabel = "QrCalling E2E v1"u8.ToArray();
    private static readonly byte[] CommitLabel = "QrCalling E2E v1 commit"u8.ToArray();
    private static readonly byte[] InitiatorToResponderInfo = "qrcalling e2e v1 initiator to responder"u8.ToArray();
    private static readonly byte[] ResponderToInitiatorInfo = "qrcalling e2e v1 responder to initiator"u8.ToArray();
    private static readonly byte[] CheckCodeInfo = "qrcalling e2e v1 check code"u8.ToArray();

    /// <summary>Each part as a 4-byte big-endian length and the bytes.</summary>
    public static byte[] LengthPrefixed(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => 4 + p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(offset), (uint)part.Length);
            part.CopyTo(result, offset + 4);
            offset += 4 + part.Length;
        }
        return result;
    }

    public static byte[] Commit(string contextId, byte[] sid, byte[] initiatorPublic, string initiatorFingerprint, byte[] nonce) =>
        SHA256.HashData(LengthPrefixed(CommitLabel, Encoding.UTF8.GetBytes(contextId), sid, initiatorPublic,
            Encoding.UTF8.GetBytes(initiatorFingerprint), nonce));

    public static byte[] TranscriptHash(string contextId, byte[] sid, byte[] initiatorPublic, byte[] responderPublic,
        string initiatorFingerprint, string responderFingerprint, byte[] nonce) =>
        SHA256.HashData(LengthPrefixed(TranscriptLabel, Encoding.UTF8.GetBytes(contextId), sid, initiatorPublic, responderPublic,
            Encoding.UTF8.GetBytes(initiatorFingerprint), Encoding.UTF8.GetBytes(responderFingerprint), nonce));

    /// <summary>The keys of both directions and the check code from the ECDH secret and the transcript hash.</summary>
    public static (byte[] InitiatorToResponder, byte[] ResponderToInitiator, string CheckCode) Derive(byte[] sharedSecret, byte[] transcriptHash)
    {
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, sharedSecret, transcriptHash);
        var i2r = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, InitiatorToResponderInfo);
        var r2i = HKDF.Expand(HashAlgorithmName.SHA256, prk, 32, ResponderToInitiatorInfo);
        var sas = BinaryPrimitives.ReadUInt64BigEndian(HKDF.Expand(HashAlgorithmName.SHA256, prk, 8, CheckCodeInfo)) % 1_000_000;
        CryptographicOperations.ZeroMemory(prk);
        return (i2r, r2i, $"{sas / 1000:D3} {sas % 1000:D3}");
    }

    /// <summary>A P-256 public key from its uncompressed point; <c>bad-key</c> when it is not one on the curve.</summary>
    public static ECDiffieHellman ImportPublic(byte[] point)
    {
        if (point.Length != PublicKeyLength || point[0] != 0x04)
        {
            throw new E2EProtocolException("bad-key", "The public key is not an uncompressed P-256 point.");
        }
        try
        {
            return ECDiffieHellman.Create(new ECParameters
            {
                Curve = ECCurve.NamedCurves.nistP256,
                Q = new ECPoint { X = point[1..33], Y = point[33..] },
            });
        }
        catch (CryptographicException)
        {
            throw new E2EProtocolException("bad-key", "The public key is not a point on P-256.");
        }
    }

    public static byte[] ExportPublic(ECDiffieHellman key)
    {
        var q = key.ExportParameters(false).Q;
        return [0x04, .. q.X!, .. q.Y!];
    }

    public static byte[] SharedSecret(ECDiffieHellman mine, byte[] theirPoint)
    {
        using var theirs = ImportPublic(theirPoint);
        return mine.DeriveRawSecretAgreement(theirs.PublicKey);
    }

    public static byte[] Header(byte direction, ulong counter)
    {
        var header = new byte[HeaderLength];
        header[0] = E2EMessage.Version;
        header[1] = direction;
        BinaryPrimitives.WriteUInt64BigEndian(header.AsSpan(2), counter);
        return header;
    }

    public static byte[] Nonce(byte direction, ulong counter)
    {
        var nonce = new byte[12];
        nonce[3] = direction;
        BinaryPrimitives.WriteUInt64BigEndian(nonce.AsSpan(4), counter);
        return nonce;
    }

    public static string Seal(byte[] key, byte direction, ulong counter, string text)
    {
        var header = Header(direction, counter);
        var plain = Encoding.UTF8.GetBytes(text);
        var wire = new byte[HeaderLength + plain.Length + TagLength];
        header.CopyTo(wire, 0);
        using var gcm = new AesGcm(key, TagLength);
        gcm.Encrypt(Nonce(direction, counter), plain, wire.AsSpan(HeaderLength, plain.Length), wire.AsSpan(HeaderLength + plain.Length), header);
        return Convert.ToBase64String(wire);
    }

    public static byte[] FromBase64Url(string? text, int length, string what)
    {
        try
        {
            var bytes = text is null ? null : Base64Url.DecodeFromChars(text);
            if (bytes is not null && bytes.Length == length)
            {
                return bytes;
            }
        }
        catch (FormatException)
        {
        }
        throw new E2EProtocolException("malformed", $"The {what} is not {length} bytes of base64url.");
    }
}
