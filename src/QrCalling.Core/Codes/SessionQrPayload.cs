using System.Globalization;
using System.Text;

namespace QrCalling.Codes;

/// <summary>Kinds of signed session QR (the <c>kind</c> part of <c>PQS:1:&lt;kind&gt;:…</c>).</summary>
public static class SessionQrKinds
{
    /// <summary>A room: the subject is the room id.</summary>
    public const string Room = "ROOM";

    /// <summary>A meet-now code: an ordinary call code issued signed and expiring; the subject is the code's token
    /// (base32, as in its <c>PQC:1:</c> payload), so the signed payload resolves to the code through the usual caller flow.</summary>
    public const string Meet = "MEET";
}

/// <summary>A signed session QR: what its payload says, once parsed (and, from <see cref="SessionQrVerifier"/>, verified).</summary>
/// <param name="Kind">The kind, upper case, e.g. <see cref="SessionQrKinds.Meet"/>.</param>
/// <param name="KeyId">The signing key's id (<see cref="SessionQrPublicKey.KeyId"/>).</param>
/// <param name="ExpiresAt">When it stops verifying (whole seconds).</param>
/// <param name="Subject">What it is about, upper case: a room id or a code's token; opaque to QrCalling.</param>
/// <param name="Payload">The canonical payload text (upper case, no white space).</param>
public sealed record SessionQr(string Kind, string KeyId, DateTimeOffset ExpiresAt, string Subject, string Payload)
{
    /// <summary>For a <see cref="SessionQrKinds.Meet"/> QR, the <c>PQC:1:</c> payload of the call code it stands for (its
    /// subject is the code's token); null for another kind. Check the QR first (<see cref="SessionQrVerifier"/>).</summary>
    public string? ToCodePayload()
    {
        Span<byte> token = stackalloc byte[CodeToken.Length];
        return Kind == SessionQrKinds.Meet && Base32.TryDecode(Subject, token) ? CodePayload.Format(CodeToken.FromBytes(token)) : null;
    }

    /// <summary>Never prints the payload or subject (either may be a credential).</summary>
    public override string ToString() => $"SessionQr({Kind}, key {KeyId}, expires {ExpiresAt:O})";
}

/// <summary>The codec of signed session QR payloads:
/// <c>PQS:1:&lt;kind&gt;:&lt;keyId&gt;:&lt;expiry&gt;:&lt;subject&gt;:&lt;signature&gt;</c>, every character in the QR
/// alphanumeric set (<c>A-Z</c>, <c>0-9</c>, <c>-</c>, <c>:</c>), so a QR of it stays in alphanumeric mode. See
/// docs/protocol.md, "Signed session QR (additive)".</summary>
public static class SessionQrPayload
{
    /// <summary>The prefix and version, <c>PQS:1:</c> (parsing ignores case).</summary>
    public const string Prefix = "PQS:1:";

    /// <summary>Longest kind, in characters (<c>A-Z</c>).</summary>
    public const int MaxKindLength = 16;

    /// <summary>Longest subject, in characters (<c>A-Z</c>, <c>0-9</c>, <c>-</c>).</summary>
    public const int MaxSubjectLength = 128;

    /// <summary>Characters of a key id: 5 bytes in base32.</summary>
    public const int KeyIdChars = 8;

    /// <summary>Characters of the signature: 64 bytes (IEEE P1363 r‖s of ECDSA P-256) in base32 without padding.</summary>
    public const int SignatureChars = 103;

    /// <summary>Bytes of the signature (IEEE P1363, r‖s).</summary>
    public const int SignatureBytes = 64;

    /// <summary>Longest text <see cref="TryParse"/> looks at (a link included); anything longer is malformed.</summary>
    public const int MaxTextLength = 2048;

    private const int MaxExpiryDigits = 12;

    /// <summary>Parses a payload or its link form (<c>&lt;base&gt;#&lt;payload&gt;</c>), ignoring case and surrounding
    /// white space. Checks the shape only, not the signature: use <see cref="SessionQrVerifier.Verify"/>. Never throws.</summary>
    /// <param name="text">The scanned text.</param>
    /// <param name="qr">The parsed parts, when the shape is right.</param>
    /// <param name="signature">The 64 signature bytes, when the shape is right.</param>
    /// <param name="error">Why the text is malformed, for developers (never echoes the text).</param>
    public static bool TryParse(string? text, out SessionQr? qr, out byte[]? signature, out string? error)
    {
        qr = null;
        signature = null;
        if (text is null || text.Length > MaxTextLength)
        {
            error = "Not a signed session QR (empty or too long).";
            return false;
        }
        var span = text.AsSpan().Trim();
        var hash = span.LastIndexOf('#');
        if (hash >= 0)
        {
            span = span[(hash + 1)..].Trim();
        }
        foreach (var c in span)
        {
            if (!char.IsAscii(c))
            {
                error = "Not a signed session QR: it holds characters outside ASCII.";
                return false;
            }
        }
        var canonical = span.ToString().ToUpperInvariant();
        if (!canonical.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"Not a signed session QR: it does not start with {Prefix}.";
            return false;
        }
        var parts = canonical.Split(':');
        if (parts.Length != 7)
        {
            error = "A signed session QR has 7 parts separated by ':' (PQS:1:kind:keyId:expiry:subject:signature).";
            return false;
        }
        var (kind, keyId, expiry, subject, sig) = (parts[2], parts[3], parts[4], parts[5], parts[6]);
        if (!IsKind(kind))
        {
            error = $"The kind must be 1 to {MaxKindLength} letters A-Z.";
            return false;
        }
        Span<byte> kid = stackalloc byte[5];
        if (keyId.Length != KeyIdChars || !Base32.TryDecode(keyId, kid))
        {
            error = $"The key id must be {KeyIdChars} base32 characters.";
            return false;
        }
        if (expiry.Length is 0 or > MaxExpiryDigits || (expiry.Length > 1 && expiry[0] == '0')
            || !long.TryParse(expiry, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            error = "The expiry must be Unix seconds in decimal without leading zeros.";
            return false;
        }
        if (!IsSubject(subject))
        {
            error = $"The subject must be 1 to {MaxSubjectLength} characters A-Z, 0-9 or '-'.";
            return false;
        }
        var bytes = new byte[SignatureBytes];
        if (!Base32.TryDecode(sig, bytes))
        {
            error = $"The signature must be {SignatureChars} canonical base32 characters ({SignatureBytes} bytes).";
            return false;
        }
        qr = new SessionQr(kind, keyId, DateTimeOffset.FromUnixTimeSeconds(seconds), subject, canonical);
        signature = bytes;
        error = null;
        return true;
    }

    /// <summary>The link form <c>&lt;baseUrl&gt;#&lt;payload&gt;</c>, as for code payloads: the fragment never reaches a
    /// server.</summary>
    public static string ToLink(string baseUrl, string payload) => CodePayload.ToLink(baseUrl, payload);

    /// <summary>The exact bytes that are signed: the ASCII of the canonical payload up to and including the ':' before
    /// the signature.</summary>
    internal static byte[] SignedBytes(string canonicalPayload) =>
        Encoding.ASCII.GetBytes(canonicalPayload[..(canonicalPayload.LastIndexOf(':') + 1)]);

    /// <summary>The unsigned head <c>PQS:1:&lt;kind&gt;:&lt;keyId&gt;:&lt;expiry&gt;:&lt;subject&gt;:</c>.</summary>
    internal static string Head(string kind, string keyId, DateTimeOffset expiresAt, string subject) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{kind}:{keyId}:{expiresAt.ToUnixTimeSeconds()}:{subject}:");

    internal static string WithSignature(string head, ReadOnlySpan<byte> signature) => head + Base32.Encode(signature);

    /// <summary>1 to 16 letters A-Z.</summary>
    internal static bool IsKind(string kind) =>
        kind.Length is > 0 and <= MaxKindLength && kind.All(char.IsAsciiLetterUpper);

    /// <summary>1 to 128 characters A-Z, 0-9 or '-'.</summary>
    internal static bool IsSubject(string subject) =>
        subject.Length is > 0 and <= MaxSubjectLength && subject.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '-');
}
