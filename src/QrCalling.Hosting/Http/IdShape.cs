namespace QrCalling.Hosting.Http;

/// <summary>The shape of the ids clients pass back (call ids <c>call_</c> + base64url, code ids <c>c_</c> + base32): 1
/// to <see cref="MaxLength"/> characters of <c>[A-Za-z0-9_-]</c>. Anything else (a NUL, other control characters, a
/// megabyte of text) is refused before it reaches a store, answered as an unknown id would be.</summary>
internal static class IdShape
{
    public const int MaxLength = 100;

    public static bool IsValid(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxLength)
        {
            return false;
        }
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
