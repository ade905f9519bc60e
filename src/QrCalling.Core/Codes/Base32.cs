namespace QrCalling.Codes;

/// <summary>RFC 4648 base32 (alphabet <c>A-Z2-7</c>) without padding, canonical: decoding rejects set unused low bits of
/// the last character, so every byte string has exactly one text (ignoring case).</summary>
internal static class Base32
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private const string LowerAlphabet = "abcdefghijklmnopqrstuvwxyz234567";

    // Value of each ASCII character (either case), or -1.
    private static readonly sbyte[] Values = BuildValues();

    /// <summary>Characters needed for <paramref name="byteCount"/> bytes.</summary>
    public static int EncodedLength(int byteCount) => (byteCount * 8 + 4) / 5;

    /// <summary>Encodes in UPPER or lower case.</summary>
    public static string Encode(ReadOnlySpan<byte> bytes, bool lowerCase = false)
    {
        var chars = new char[EncodedLength(bytes.Length)];
        Encode(bytes, chars, lowerCase);
        return new string(chars);
    }

    /// <summary>Encodes into <paramref name="destination"/>, which has exactly <see cref="EncodedLength"/> characters.</summary>
    public static void Encode(ReadOnlySpan<byte> bytes, Span<char> destination, bool lowerCase = false)
    {
        var alphabet = lowerCase ? LowerAlphabet : Alphabet;
        int buffer = 0, bits = 0, o = 0;
        foreach (var b in bytes)
        {
            buffer = ((buffer << 8) | b) & 0xFFFF;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                destination[o++] = alphabet[(buffer >> bits) & 31];
            }
        }
        if (bits > 0)
        {
            destination[o++] = alphabet[(buffer << (5 - bits)) & 31];
        }
    }

    /// <summary>Decodes exactly <paramref name="destination"/>.Length bytes from <paramref name="text"/>, which must have
    /// exactly <see cref="EncodedLength"/> characters. False for a character outside the alphabet (either case) or
    /// non-zero unused bits in the last character.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination)
    {
        if (text.Length != EncodedLength(destination.Length))
        {
            return false;
        }
        int buffer = 0, bits = 0, o = 0;
        foreach (var c in text)
        {
            var value = c < 128 ? Values[c] : -1;
            if (value < 0)
            {
                return false;
            }
            buffer = ((buffer << 5) | value) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                destination[o++] = (byte)(buffer >> bits);
            }
        }
        // Whatever is left are the unused low bits of the last character: canonical means they are zero.
        return (buffer & ((1 << bits) - 1)) == 0;
    }

    private static sbyte[] BuildValues()
    {
        var values = new sbyte[128];
        Array.Fill(values, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++)
        {
            values[Alphabet[i]] = (sbyte)i;
            values[LowerAlphabet[i]] = (sbyte)i;
        }
        return values;
    }
}
