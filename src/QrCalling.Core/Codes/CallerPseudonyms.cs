using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QrCalling.Codes;

/// <summary>Turns a caller key (32 random bytes a caller's browser keeps) into a per-code pseudonym:
/// <c>HMAC-SHA256(k, codeId ‖ 0x00 ‖ callerKey)</c> with <c>k</c> derived from the pepper by HKDF (info
/// <c>qrcalling-caller-pseudonym-v1</c>). The same caller gets one pseudonym per code and unrelated ones on other codes,
/// so nothing stored links a caller across codes; the caller key itself is never stored or logged.</summary>
internal sealed class CallerPseudonyms
{
    /// <summary>A caller key is this many random bytes.</summary>
    public const int KeyBytes = 32;
    /// <summary>Its base64url form (no padding) is this many characters.</summary>
    public const int KeyLength = 43;

    private static readonly byte[] Info = Encoding.ASCII.GetBytes("qrcalling-caller-pseudonym-v1");
    private readonly byte[][] _keys;

    /// <summary>Derives the keys from <see cref="QrCallingOptions.Pepper"/> and the previous peppers.</summary>
    public CallerPseudonyms(IOptions<QrCallingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var peppers = new List<string> { value.Pepper ?? "" };
        peppers.AddRange(value.PreviousPeppers);
        _keys = [.. peppers.Select(p => HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(p), 32, salt: null, info: Info))];
    }

    /// <summary>Parses a caller key: base64url without padding of exactly <see cref="KeyBytes"/> bytes. False for
    /// anything else (null, the wrong length, other characters).</summary>
    public static bool TryParseKey(string? text, out byte[] key)
    {
        key = [];
        if (text is null || text.Length != KeyLength || !Base64Url.IsValid(text))
        {
            return false;
        }
        var bytes = new byte[KeyBytes];
        if (!Base64Url.TryDecodeFromChars(text, bytes, out var written) || written != KeyBytes
            || Base64Url.EncodeToString(bytes) != text)
        {
            return false;
        }
        key = bytes;
        return true;
    }

    /// <summary>The pseudonym of <paramref name="callerKey"/> on <paramref name="codeId"/> under the current pepper
    /// (32 bytes).</summary>
    public byte[] Of(string codeId, ReadOnlySpan<byte> callerKey) => Of(codeId, callerKey, 0);

    /// <summary>The pseudonyms under the current pepper, then each previous pepper (a block made before a pepper
    /// rotation still matches).</summary>
    public IReadOnlyList<byte[]> Candidates(string codeId, ReadOnlySpan<byte> callerKey)
    {
        var result = new byte[_keys.Length][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = Of(codeId, callerKey, i);
        }
        return result;
    }

    private byte[] Of(string codeId, ReadOnlySpan<byte> callerKey, int index)
    {
        ArgumentException.ThrowIfNullOrEmpty(codeId);
        var id = Encoding.UTF8.GetBytes(codeId);
        var message = new byte[id.Length + 1 + callerKey.Length];
        id.CopyTo(message, 0);
        callerKey.CopyTo(message.AsSpan(id.Length + 1));
        return HMACSHA256.HashData(_keys[index], message);
    }
}
