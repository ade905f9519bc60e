using System.Text.RegularExpressions;

namespace QrCalling.Client.E2E;

/// <summary>DTLS fingerprints as the protocol writes them: <c>sha-256 AB:CD:…</c> (algorithm in lower case, hex in upper
/// case), the form of an SDP <c>a=fingerprint</c> line's value.</summary>
public static partial class E2EFingerprint
{
    /// <summary>The canonical form of a fingerprint (<c>"SHA-256 ab:cd"</c> → <c>"sha-256 AB:CD"</c>); empty for none.</summary>
    /// <param name="fingerprint">An algorithm and hex value separated by a space, or null/empty.</param>
    public static string Normalize(string? fingerprint)
    {
        if (string.IsNullOrWhiteSpace(fingerprint))
        {
            return "";
        }
        var parts = fingerprint.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 ? $"{parts[0].ToLowerInvariant()} {parts[1].Trim().ToUpperInvariant()}" : fingerprint.Trim().ToUpperInvariant();
    }

    /// <summary>The fingerprint of an SDP: the value of its <c>a=fingerprint</c> lines, which must all agree; null when
    /// it has none or they disagree (a client then refuses the description).</summary>
    /// <param name="sdp">A session description.</param>
    public static string? FromSdp(string sdp)
    {
        ArgumentNullException.ThrowIfNull(sdp);
        var found = FingerprintLine().Matches(sdp).Select(m => Normalize(m.Groups[1].Value)).Distinct(StringComparer.Ordinal).ToList();
        return found.Count == 1 ? found[0] : null;
    }

    [GeneratedRegex(@"^a=fingerprint:(.+?)\s*$", RegexOptions.Multiline)]
    private static partial Regex FingerprintLine();
}
