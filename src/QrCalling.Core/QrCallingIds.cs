namespace QrCalling;

/// <summary>The shape of every id QrCalling hands out (code ids, call ids, callerId and calleeId): 1 to
/// <see cref="MaxLength"/> characters of <c>[A-Za-z0-9_-]</c>. Hosts and adapters use it to refuse anything else (a NUL,
/// other control characters, a megabyte of text) before it reaches a store; QrCalling answers such ids like unknown ones.</summary>
public static class QrCallingIds
{
    /// <summary>The longest id accepted.</summary>
    public const int MaxLength = 100;

    /// <summary>True for an id that could be one of QrCalling's.</summary>
    public static bool IsWellFormed(string? id)
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
