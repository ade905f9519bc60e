namespace QrCalling.Codes;

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

    /// <summary>True when a scanner may use the code at <paramref name="now"/>: not revoked, not expired, not used up.</summary>
    public bool IsAvailable(DateTimeOffset now) =>
        RevokedAt is null && (ExpiresAt is null || now < ExpiresAt) && (MaxScans is null || ScanCount < MaxScans);
}
