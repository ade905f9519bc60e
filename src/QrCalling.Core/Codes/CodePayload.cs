namespace QrCalling.Codes;

/// <summary>The payload codec of spec section 1: <c>pqc:1:&lt;base32 token&gt;:&lt;base32 CRC-32&gt;</c>.</summary>
public static class CodePayload
{
    /// <summary>Formats a token as a payload in UPPER case (QR alphanumeric mode), e.g. <c>PQC:1:…:…</c>.</summary>
    public static string Format(CodeToken token) => throw new NotImplementedException();

    /// <summary>Parses a payload or its link form (<c>&lt;base&gt;#&lt;payload&gt;</c>), ignoring case and surrounding
    /// white space. Never throws for any input.</summary>
    public static PayloadParseResult Parse(string? text) => throw new NotImplementedException();

    /// <summary>The link form <c>&lt;baseUrl&gt;#&lt;payload&gt;</c>.</summary>
    public static string ToLink(string baseUrl, string payload) => throw new NotImplementedException();
}
