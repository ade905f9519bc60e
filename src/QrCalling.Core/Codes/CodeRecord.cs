namespace QrCalling.Codes;

/// <summary>Where a code stands for its owner, at one instant. Wire names (<c>state</c> in <c>GET /codes</c>): <c>active</c>,
/// <c>paused</c>, <c>revoked</c>, <c>expired</c>, <c>used_up</c>.</summary>
public enum CodeState
{
    /// <summary>A scanner may call: not revoked, paused, expired or used up.</summary>
    Active,
    /// <summary>Paused by the owner; answers scanners like an unavailable code until resumed.</summary>
    Paused,
    /// <summary>Revoked (or rotated) by the owner; final.</summary>
    Revoked,
    /// <summary>Past its expiry; final.</summary>
    Expired,
    /// <summary>All its scans are used; final.</summary>
    UsedUp,
}

/// <summary>A code as storage keeps it. It never holds the token or payload: only <see cref="KeyHash"/>, the keyed
/// hash of the token bytes.</summary>
public sealed record CodeRecord
{
    /// <summary>Random opaque id, shown to the owner only (never to a scanner).</summary>
    public required string Id { get; init; }
    /// <summary>The host's user id of the owner.</summary>
    public required string OwnerId { get; init; }
    /// <summary>HMAC-SHA256(pepper, tokenBytes), or SHA-256 without a pepper: 32 bytes.</summary>
    public required byte[] KeyHash { get; init; }
    /// <summary>Owner's label shown to a scanner (e.g. "Blue van, front door"); may be empty.</summary>
    public string Label { get; init; } = "";
    /// <summary>The media kinds a caller may use.</summary>
    public MediaKind Media { get; init; } = MediaKinds.All;
    /// <summary>When the code was issued.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the code stops working; null for never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>How many scans the code allows; null for unlimited.</summary>
    public int? MaxScans { get; init; }
    /// <summary>Scans counted so far.</summary>
    public int ScanCount { get; init; }
    /// <summary>When the last counted scan happened.</summary>
    public DateTimeOffset? LastScannedAt { get; init; }
    /// <summary>When the owner revoked (or rotated) the code; null while live.</summary>
    public DateTimeOffset? RevokedAt { get; init; }
    /// <summary>Since when the owner has paused the code; null while not paused. A paused code answers a scanner exactly
    /// like an unavailable one until the owner resumes it; it keeps its payload, scans and lifetime.</summary>
    public DateTimeOffset? PausedAt { get; init; }

    /// <summary>True when a scanner may use the code at <paramref name="now"/>: not revoked, not paused, not expired, not
    /// used up.</summary>
    public bool IsAvailable(DateTimeOffset now) =>
        RevokedAt is null && PausedAt is null && (ExpiresAt is null || now < ExpiresAt) && (MaxScans is null || ScanCount < MaxScans);

    /// <summary>The code's state at <paramref name="now"/>: the final states first (revoked, expired, used up), then paused,
    /// else active.</summary>
    public CodeState StateAt(DateTimeOffset now) =>
        RevokedAt is not null ? CodeState.Revoked
        : ExpiresAt is { } expires && now >= expires ? CodeState.Expired
        : MaxScans is { } max && ScanCount >= max ? CodeState.UsedUp
        : PausedAt is not null ? CodeState.Paused
        : CodeState.Active;
}

/// <summary>Wire names of <see cref="CodeState"/>: <c>active</c>, <c>paused</c>, <c>revoked</c>, <c>expired</c>,
/// <c>used_up</c>.</summary>
public static class CodeStates
{
    /// <summary>The wire name of a code state.</summary>
    public static string ToWireName(CodeState state) => state switch
    {
        CodeState.Active => "active",
        CodeState.Paused => "paused",
        CodeState.Revoked => "revoked",
        CodeState.Expired => "expired",
        CodeState.UsedUp => "used_up",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "Unknown code state."),
    };

    /// <summary>Parses a code state's wire name (exact, lower case); false for anything else.</summary>
    public static bool TryParse(string? name, out CodeState state)
    {
        foreach (var candidate in Enum.GetValues<CodeState>())
        {
            if (ToWireName(candidate) == name)
            {
                state = candidate;
                return true;
            }
        }
        state = default;
        return false;
    }
}
