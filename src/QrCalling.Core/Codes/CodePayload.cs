using System.Buffers.Binary;
using System.IO.Hashing;

namespace QrCalling.Codes;

/// <summary>The payload codec of spec section 1: <c>pqc:1:&lt;base32 token&gt;:&lt;base32 CRC-32&gt;</c>.</summary>
public static class CodePayload
{
    /// <summary>The prefix and version, <c>PQC:1:</c> (parsing ignores case).</summary>
    public const string Prefix = "PQC:1:";

    /// <summary>Characters of the base32 token (32 bytes, no padding): 52.</summary>
    public const int TokenChars = 52;

    /// <summary>Characters of the base32 CRC-32 (4 bytes, no padding): 7.</summary>
    public const int ChecksumChars = 7;

    /// <summary>Length of a payload: 66 characters.</summary>
    public const int Length = 6 + TokenChars + 1 + ChecksumChars;

    private const int TokenStart = 6;
    private const int SeparatorIndex = TokenStart + TokenChars;
    private const int ChecksumStart = SeparatorIndex + 1;

    /// <summary>Formats a token as a payload in UPPER case (QR alphanumeric mode), e.g. <c>PQC:1:…:…</c>.</summary>
    public static string Format(CodeToken token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return string.Create(Length, token, static (chars, t) =>
        {
            Prefix.AsSpan().CopyTo(chars);
            Base32.Encode(t.Bytes, chars.Slice(TokenStart, TokenChars));
            chars[SeparatorIndex] = ':';
            Span<byte> crc = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.HashToUInt32(t.Bytes));
            Base32.Encode(crc, chars.Slice(ChecksumStart, ChecksumChars));
        });
    }

    /// <summary>Parses a payload or its link form (<c>&lt;base&gt;#&lt;payload&gt;</c>), ignoring case and surrounding
    /// white space. Never throws for any input.</summary>
    public static PayloadParseResult Parse(string? text)
    {
        if (text is null)
        {
            return new(PayloadStatus.Malformed, null);
        }
        var span = text.AsSpan().Trim();
        var hash = span.LastIndexOf('#');
        if (hash >= 0)
        {
            span = span[(hash + 1)..].Trim();
        }
        if (span.Length != Length
            || !span[..TokenStart].Equals(Prefix, StringComparison.OrdinalIgnoreCase)
            || span[SeparatorIndex] != ':')
        {
            return new(PayloadStatus.Malformed, null);
        }
        Span<byte> token = stackalloc byte[CodeToken.Length];
        Span<byte> crc = stackalloc byte[4];
        if (!Base32.TryDecode(span.Slice(TokenStart, TokenChars), token)
            || !Base32.TryDecode(span.Slice(ChecksumStart, ChecksumChars), crc))
        {
            return new(PayloadStatus.Malformed, null);
        }
        if (BinaryPrimitives.ReadUInt32BigEndian(crc) != Crc32.HashToUInt32(token))
        {
            return new(PayloadStatus.Checksum, null);
        }
        return new(PayloadStatus.Ok, CodeToken.FromBytes(token));
    }

    /// <summary>The link form <c>&lt;baseUrl&gt;#&lt;payload&gt;</c>; a trailing <c>#</c> of <paramref name="baseUrl"/>
    /// is dropped.</summary>
    public static string ToLink(string baseUrl, string payload)
    {
        ArgumentNullException.ThrowIfNull(baseUrl);
        ArgumentNullException.ThrowIfNull(payload);
        return baseUrl.TrimEnd('#') + "#" + payload;
    }
}
