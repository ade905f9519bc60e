using System.Collections.Concurrent;

namespace QrCalling.Hosting.Hubs;

/// <summary>Group names and the connections of each owner device on this instance (for "every device but one").</summary>
internal sealed class ConnectionTracker
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _deviceConnections = new();

    public static string OwnerGroup(string ownerId) => "qrc-o:" + ownerId;

    public static string DeviceGroup(string ownerId, string deviceId) => $"qrc-d:{ownerId.Length}:{ownerId}:{deviceId}";

    public static string CallerGroup(string callId) => "qrc-c:" + callId;

    public void Add(string ownerId, string deviceId, string connectionId) =>
        _deviceConnections.GetOrAdd(DeviceGroup(ownerId, deviceId), _ => new()).TryAdd(connectionId, 0);

    public void Remove(string ownerId, string deviceId, string connectionId)
    {
        var key = DeviceGroup(ownerId, deviceId);
        if (_deviceConnections.TryGetValue(key, out var set))
        {
            set.TryRemove(connectionId, out _);
            if (set.IsEmpty)
            {
                _deviceConnections.TryRemove(new KeyValuePair<string, ConcurrentDictionary<string, byte>>(key, set));
            }
        }
    }

    public IReadOnlyList<string> ConnectionsOf(string ownerId, string deviceId) =>
        _deviceConnections.TryGetValue(DeviceGroup(ownerId, deviceId), out var set) ? set.Keys.ToArray() : [];
}

/// <summary>Live hub connections per participant of a call on this instance: per call for the caller, per (owner,
/// device, call) for an owner device. A participant counts as connected while any of its connections is up, so a
/// reconnect that overtakes the server's notice of the old connection's death does not mark it gone. Changes of one key
/// run one at a time, each with its presence update, so the store sees them in the order the counts changed.</summary>
internal sealed class PresenceCounter
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public static string CallerKey(string callId) => "c:" + callId;

    public static string DeviceKey(string ownerId, string deviceId, string callId) =>
        $"d:{ownerId.Length}:{ownerId}:{deviceId.Length}:{deviceId}:{callId}";

    /// <summary>Counts one more connection; runs <paramref name="onFirst"/> when it is the only one. If
    /// <paramref name="onFirst"/> throws, the connection is not counted.</summary>
    public async ValueTask AddAsync(string key, Func<ValueTask>? onFirst)
    {
        var entry = Enter(key);
        try
        {
            await entry.Gate.WaitAsync(CancellationToken.None);
            try
            {
                entry.Count++;
                if (entry.Count == 1 && onFirst is not null)
                {
                    try
                    {
                        await onFirst();
                    }
                    catch
                    {
                        entry.Count--;
                        throw;
                    }
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Leave(key, entry);
        }
    }

    /// <summary>Counts one connection less; runs <paramref name="onLast"/> when none is left.</summary>
    public ValueTask RemoveAsync(string key, Func<ValueTask> onLast) => UnderGateAsync(key, entry =>
    {
        entry.Count = Math.Max(0, entry.Count - 1);
        return entry.Count == 0 ? onLast() : ValueTask.CompletedTask;
    });

    /// <summary>Runs <paramref name="action"/> (a presence refresh) if the participant has a connection here, in order
    /// with the key's other changes.</summary>
    public ValueTask RefreshAsync(string key, Func<ValueTask> action) =>
        UnderGateAsync(key, entry => entry.Count > 0 ? action() : ValueTask.CompletedTask);

    /// <summary>The connections counted for a key.</summary>
    public int CountOf(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var entry) ? Volatile.Read(ref entry.Count) : 0;
        }
    }

    private async ValueTask UnderGateAsync(string key, Func<Entry, ValueTask> action)
    {
        var entry = Enter(key);
        try
        {
            await entry.Gate.WaitAsync(CancellationToken.None);
            try
            {
                await action(entry);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        finally
        {
            Leave(key, entry);
        }
    }

    private Entry Enter(string key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                entry = new Entry();
                _entries[key] = entry;
            }
            entry.Users++;
            return entry;
        }
    }

    private void Leave(string key, Entry entry)
    {
        lock (_lock)
        {
            entry.Users--;
            if (entry.Users == 0 && entry.Count == 0)
            {
                _entries.Remove(key);
                entry.Gate.Dispose();
            }
        }
    }

    private sealed class Entry
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public int Count;
        public int Users;
    }
}
