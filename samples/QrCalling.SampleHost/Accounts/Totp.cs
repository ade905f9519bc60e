using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Time-based one-time passwords per RFC 6238 with the parameters every authenticator app understands:
/// HMAC-SHA-1, 6 digits, 30-second steps from the Unix epoch (RFC 4226's dynamic truncation).</summary>
public static class Totp
{
    /// <summary>Seconds per step.</summary>
    public const int StepSeconds = 30;

    /// <summary>Digits per code.</summary>
    public const int Digits = 6;

    /// <summary>Bytes of a new secret (160 bits, RFC 4226's recommendation for HMAC-SHA-1).</summary>
    public const int SecretBytes = 20;

    /// <summary>A new random secret in base32 (RFC 4648, no padding), as authenticator apps take it.</summary>
    public static string NewSecret() => Base32.Encode(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>The step that holds <paramref name="time"/>.</summary>
    public static long StepAt(DateTimeOffset time) => Math.DivRem(time.ToUnixTimeSeconds(), StepSeconds, out var rem) - (rem < 0 ? 1 : 0);

    /// <summary>The code of <paramref name="key"/> at <paramref name="step"/>, zero-padded to <paramref name="digits"/>
    /// digits (6 to 8; the RFC's test vectors use 8).</summary>
    public static string Compute(ReadOnlySpan<byte> key, long step, int digits = Digits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(digits, 6);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(digits, 8);
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, step);
        Span<byte> mac = stackalloc byte[HMACSHA1.HashSizeInBytes];
        HMACSHA1.HashData(key, counter, mac);
        var offset = mac[^1] & 0x0f;
        var binary = (BinaryPrimitives.ReadInt32BigEndian(mac[offset..]) & 0x7fffffff) % (int)Math.Pow(10, digits);
        return binary.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(digits, '0');
    }

    /// <summary>The step within one step of <paramref name="now"/> (clock drift of ±30 s) whose code is
    /// <paramref name="code"/> and that is later than <paramref name="lastUsedStep"/>, or null. A code is good for one
    /// sign-in only: once its step is recorded as used, it and every earlier code are refused.</summary>
    public static long? Verify(string base32Secret, string? code, DateTimeOffset now, long lastUsedStep)
    {
        if (code is null || code.Length != Digits || !code.All(char.IsAsciiDigit))
        {
            return null;
        }
        var key = Base32.Decode(base32Secret);
        var current = StepAt(now);
        long? match = null;
        for (var step = current - 1; step <= current + 1; step++)
        {
            // Every candidate is computed and compared in constant time, so timing tells nothing about which one matched.
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(key, step)), Encoding.ASCII.GetBytes(code)) && step > lastUsedStep)
            {
                match ??= step;
            }
        }
        return match;
    }

    /// <summary>The <c>otpauth://</c> URI authenticator apps read from a QR code (Key Uri Format).</summary>
    public static string OtpAuthUri(string issuer, string accountName, string base32Secret) =>
        $"otpauth://totp/{Uri.EscapeDataString(issuer)}:{Uri.EscapeDataString(accountName)}?secret={base32Secret}" +
        $"&issuer={Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits={Digits}&period={StepSeconds}";
}

/// <summary>RFC 4648 base32 (upper-case alphabet, no padding on output; decoding ignores case, spaces, dashes and '=').</summary>
public static class Base32
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// <summary>Encodes bytes.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        var output = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                output.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            output.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }
        return output.ToString();
    }

    /// <summary>Decodes text; throws <see cref="FormatException"/> on a character outside the alphabet.</summary>
    public static byte[] Decode(string text)
    {
        var output = new List<byte>(text.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            if (c is ' ' or '-' or '=')
            {
                continue;
            }
            var value = Alphabet.IndexOf(char.ToUpperInvariant(c), StringComparison.Ordinal);
            if (value < 0)
            {
                throw new FormatException("Not base32.");
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                output.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }
        return [.. output];
    }
}
