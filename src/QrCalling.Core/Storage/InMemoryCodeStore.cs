using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICodeStore"/>. Records are immutable; each code lives in one <see cref="Entry"/> whose
/// lock serialises its updates, so "count a scan unless the limit is reached" and "revoke once" are atomic. Reads take
/// no lock. Creates and deletes take one store-wide lock so both indexes (id and key hash) change together.</summary>
internal sealed class InMemoryCodeStore : ICodeStore
{
    private readonly ConcurrentDictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<byte[], Entry> _byKey = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, Entry>> _byOwner = new(StringComparer.Ordinal);
    private readonly Lock _structure = new();

    /// <summary>The store-wide lock that creates and deletes take; the caller-control store writes under it too.</summary>
    internal Lock StructureLock => _structure;

    /// <summary>Raised under <see cref="StructureLock"/> with the id of each code deleted (by its owner or the sweep), so
    /// everything kept for the code goes in the same step.</summary>
    internal event Action<string>? Deleted;

    /// <summary>Whether a code exists; call under <see cref="StructureLock"/>.</summary>
    internal bool ExistsUnderLock(string codeId) => _byId.ContainsKey(codeId);

    public ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        cancellationToken.ThrowIfCancellationRequested();
        // Keep our own copy of the key so a caller mutating its array cannot corrupt the index.
        var entry = new Entry(code with { KeyHash = (byte[])code.KeyHash.Clone() });
        lock (_structure)
        {
            if (_byId.ContainsKey(code.Id) || _byKey.ContainsKey(entry.Record.KeyHash))
            {
                throw new InvalidOperationException("A code with this id or key hash already exists.");
            }
            _byId[code.Id] = entry;
            _byKey[entry.Record.KeyHash] = entry;
            _byOwner.GetOrAdd(code.OwnerId, static _ => new(StringComparer.Ordinal))[code.Id] = entry;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        cancellationToken.ThrowIfCancellationRequested();
        return new(_byKey.TryGetValue(keyHash, out var entry) ? entry.Record : null);
    }

    public ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        ArgumentNullException.ThrowIfNull(codeId);
        cancellationToken.ThrowIfCancellationRequested();
        return new(_byId.TryGetValue(codeId, out var entry) && entry.Record.OwnerId == ownerId ? entry.Record : null);
    }

    public async IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        await Task.CompletedTask.ConfigureAwait(false);
        if (!_byOwner.TryGetValue(ownerId, out var codes))
        {
            yield break;
        }
        var snapshot = codes.Values.Select(e => e.Record)
            .OrderByDescending(c => c.CreatedAt)
            .ThenByDescending(c => c.Id, StringComparer.Ordinal)
            .ToList();
        foreach (var code in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return code;
        }
    }

    public ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_byKey.TryGetValue(keyHash, out var entry))
        {
            return new((CodeRecord?)null);
        }
        lock (entry)
        {
            var code = entry.Record;
            if (entry.Deleted || !code.IsAvailable(now))
            {
                return new((CodeRecord?)null);
            }
            var counted = code with { ScanCount = code.ScanCount + 1, LastScannedAt = now };
            entry.Record = counted;
            return new(counted);
        }
    }

    public ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        ArgumentNullException.ThrowIfNull(codeId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_byId.TryGetValue(codeId, out var entry))
        {
            return new(false);
        }
        lock (entry)
        {
            var code = entry.Record;
            if (entry.Deleted || code.OwnerId != ownerId || code.RevokedAt is not null)
            {
                return new(false);
            }
            entry.Record = code with { RevokedAt = now };
            return new(true);
        }
    }

    public ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxCount);
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = 0;
        foreach (var entry in _byId.Values)
        {
            if (deleted >= maxCount)
            {
                break;
            }
            lock (_structure)
            {
                lock (entry)
                {
                    var code = entry.Record;
                    if (entry.Deleted || !(code.ExpiresAt < cutoff || code.RevokedAt < cutoff))
                    {
                        continue;
                    }
                    entry.Deleted = true;
                    _byId.TryRemove(code.Id, out _);
                    _byKey.TryRemove(code.KeyHash, out _);
                    if (_byOwner.TryGetValue(code.OwnerId, out var owned) && owned.TryRemove(code.Id, out _) && owned.IsEmpty)
                    {
                        // Safe under _structure: a create for this owner cannot add to the set meanwhile.
                        _byOwner.TryRemove(code.OwnerId, out _);
                    }
                    Deleted?.Invoke(code.Id);
                    deleted++;
                }
            }
        }
        return new(deleted);
    }

    public ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken) =>
        Change(ownerId, codeId, code => code with { Label = label ?? code.Label, Media = media ?? code.Media }, cancellationToken);

    public ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        ArgumentNullException.ThrowIfNull(codeId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_byId.TryGetValue(codeId, out var entry))
        {
            return new(false);
        }
        lock (_structure)
        {
            lock (entry)
            {
                var code = entry.Record;
                if (entry.Deleted || code.OwnerId != ownerId)
                {
                    return new(false);
                }
                // Marked under the entry's lock: a scan that already holds the entry counts nothing once this returns.
                entry.Deleted = true;
                _byId.TryRemove(code.Id, out _);
                _byKey.TryRemove(code.KeyHash, out _);
                if (_byOwner.TryGetValue(code.OwnerId, out var owned) && owned.TryRemove(code.Id, out _) && owned.IsEmpty)
                {
                    _byOwner.TryRemove(code.OwnerId, out _);
                }
                Deleted?.Invoke(code.Id);
                return new(true);
            }
        }
    }

    // Under the entry's lock, as scans are counted: no scan counts once the pause is in.
    public ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken) =>
        Change(ownerId, codeId, code => code with { PausedAt = pausedAt is null ? null : code.PausedAt ?? pausedAt }, cancellationToken);

    /// <summary>Replaces an owner's live code with <paramref name="change"/> of it, under the entry's lock (as scans are
    /// counted); null when the code is unknown, deleted or another owner's.</summary>
    private ValueTask<CodeRecord?> Change(string ownerId, string codeId, Func<CodeRecord, CodeRecord> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        ArgumentNullException.ThrowIfNull(codeId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_byId.TryGetValue(codeId, out var entry))
        {
            return new((CodeRecord?)null);
        }
        lock (entry)
        {
            if (entry.Deleted || entry.Record.OwnerId != ownerId)
            {
                return new((CodeRecord?)null);
            }
            entry.Record = change(entry.Record);
            return new(entry.Record);
        }
    }

    /// <summary>One code: the current immutable record, replaced under the entry's lock.</summary>
    private sealed class Entry(CodeRecord record)
    {
        private volatile CodeRecord _record = record;

        public CodeRecord Record
        {
            get => _record;
            set => _record = value;
        }

        /// <summary>Set (under the lock) when the sweep or the owner deleted the code, so a racing update does not resurrect it.</summary>
        public bool Deleted { get; set; }
    }
}

/// <summary>Compares byte arrays by content (for key hashes used as dictionary keys).</summary>
internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>
{
    public static ByteArrayComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}
