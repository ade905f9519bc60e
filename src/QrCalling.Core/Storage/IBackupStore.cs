namespace QrCalling.Storage;

/// <summary>One stored version of an owner's backup (the bytes are opaque: the client encrypted them).</summary>
public sealed record BackupVersion
{
    /// <summary>The owner.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The version number: 1, 2, 3… per owner, never reused.</summary>
    public required long Version { get; init; }
    /// <summary>Size in bytes.</summary>
    public required long Size { get; init; }
    /// <summary>When it was uploaded.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the sweep deletes it.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>A backup version with its bytes.</summary>
/// <param name="Version">The version's metadata.</param>
/// <param name="Content">Its bytes, exactly as uploaded.</param>
public sealed record BackupContent(BackupVersion Version, ReadOnlyMemory<byte> Content);

/// <summary>Storage of owners' client-encrypted backups: the latest versions per owner, each with a TTL.</summary>
public interface IBackupStore
{
    /// <summary>Atomically stores a new version with the next version number and deletes the owner's older versions
    /// beyond the latest <paramref name="keepVersions"/>; returns the stored version. A failed call stores nothing.</summary>
    ValueTask<BackupVersion> AddAsync(string ownerId, ReadOnlyMemory<byte> content, int keepVersions, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken);

    /// <summary>The owner's versions not expired at <paramref name="now"/>, newest first (without their bytes).</summary>
    ValueTask<IReadOnlyList<BackupVersion>> ListAsync(string ownerId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>One version of the owner's (the newest when <paramref name="version"/> is null) if it has not expired at
    /// <paramref name="now"/>; null otherwise. Another owner's versions are never returned.</summary>
    ValueTask<BackupContent?> GetAsync(string ownerId, long? version, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes one version of the owner's; false when there is none.</summary>
    ValueTask<bool> DeleteAsync(string ownerId, long version, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> versions that expired at or before <paramref name="now"/>;
    /// returns how many.</summary>
    ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);
}
