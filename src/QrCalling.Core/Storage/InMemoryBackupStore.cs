namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IBackupStore"/>: one lock; each owner's versions in order.</summary>
internal sealed class InMemoryBackupStore : IBackupStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<(BackupVersion Version, byte[] Content)>> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastVersion = new(StringComparer.Ordinal);

    public ValueTask<BackupVersion> AddAsync(string ownerId, ReadOnlyMemory<byte> content, int keepVersions, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var bytes = content.ToArray();
        lock (_lock)
        {
            var number = _lastVersion.GetValueOrDefault(ownerId) + 1;
            _lastVersion[ownerId] = number;
            var version = new BackupVersion { OwnerId = ownerId, Version = number, Size = bytes.Length, CreatedAt = now, ExpiresAt = expiresAt };
            if (!_owners.TryGetValue(ownerId, out var list))
            {
                _owners[ownerId] = list = [];
            }
            list.Add((version, bytes));
            if (list.Count > keepVersions)
            {
                list.RemoveRange(0, list.Count - Math.Max(keepVersions, 1));
            }
            return ValueTask.FromResult(version);
        }
    }

    public ValueTask<IReadOnlyList<BackupVersion>> ListAsync(string ownerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<BackupVersion> versions = _owners.TryGetValue(ownerId, out var list)
                ? [.. list.Where(v => v.Version.ExpiresAt > now).Select(v => v.Version).OrderByDescending(v => v.Version)]
                : [];
            return ValueTask.FromResult(versions);
        }
    }

    public ValueTask<BackupContent?> GetAsync(string ownerId, long? version, DateTimeOffset now, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_owners.TryGetValue(ownerId, out var list))
            {
                return ValueTask.FromResult<BackupContent?>(null);
            }
            var live = list.Where(v => v.Version.ExpiresAt > now && (version is null || v.Version.Version == version)).ToList();
            if (live.Count == 0)
            {
                return ValueTask.FromResult<BackupContent?>(null);
            }
            var found = live.MaxBy(v => v.Version.Version);
            return ValueTask.FromResult<BackupContent?>(new BackupContent(found.Version, found.Content));
        }
    }

    public ValueTask<bool> DeleteAsync(string ownerId, long version, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_owners.TryGetValue(ownerId, out var list) && list.RemoveAll(v => v.Version.Version == version) > 0);
        }
    }

    public ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var deleted = 0;
            foreach (var list in _owners.Values)
            {
                while (deleted < maxCount && list.FindIndex(v => v.Version.ExpiresAt <= now) is var i and >= 0)
                {
                    list.RemoveAt(i);
                    deleted++;
                }
            }
            return ValueTask.FromResult(deleted);
        }
    }

    /// <summary>Deletes an owner's versions; returns how many.</summary>
    internal int EraseOwner(string ownerId)
    {
        lock (_lock)
        {
            _lastVersion.Remove(ownerId);
            return _owners.Remove(ownerId, out var list) ? list.Count : 0;
        }
    }
}
