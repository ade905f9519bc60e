using System.Collections.Concurrent;

using Microsoft.Extensions.Logging;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Hubs;

/// <summary>Group names and the connections of each owner device on this instance (for "every device but one"). One
/// lock guards the per-device sets, so an add never lands in a set that a concurrent remove just dropped.</summary>
/// <param name="deviceGroups">Whether a device is addressed through its (owner, device) SignalR group (see
/// <see cref="DeviceGroups"/>).</param>
internal sealed class ConnectionTracker(bool deviceGroups = true)
{
    /// <summary>True behind a backplane (Redis), where a device's connections may be on another instance: each device
    /// connection joins its (owner, device) group, which every instance can send to. False with SignalR's default
    /// (single-instance) lifetime manager: every connection is here, so a device is addressed by its connection ids in
    /// this tracker, which spares the framework a group (a concurrent dictionary of its own) per device connection.</summary>
    public bool DeviceGroups { get; } = deviceGroups;

    private readonly Lock _lock = new();
    // (owner, device) -> its connection id, or a set of them while it has several: most devices have one connection, and
    // the tuple key reuses the connection's own id strings, so an idle device costs one entry here.
    private readonly Dictionary<(string OwnerId, string DeviceId), object> _deviceConnections = new();

    public static string OwnerGroup(string ownerId) => "qrc-o:" + ownerId;

    public static string DeviceGroup(string ownerId, string deviceId) => $"qrc-d:{ownerId.Length}:{ownerId}:{deviceId}";

    public static string CallerGroup(string callId) => "qrc-c:" + callId;

    public void Add(string ownerId, string deviceId, string connectionId)
    {
        var key = (ownerId, deviceId);
        lock (_lock)
        {
            if (!_deviceConnections.TryGetValue(key, out var value))
            {
                _deviceConnections[key] = connectionId;
            }
            else if (value is HashSet<string> set)
            {
                set.Add(connectionId);
            }
            else if (!string.Equals((string)value, connectionId, StringComparison.Ordinal))
            {
                _deviceConnections[key] = new HashSet<string>(StringComparer.Ordinal) { (string)value, connectionId };
            }
        }
    }

    public void Remove(string ownerId, string deviceId, string connectionId)
    {
        var key = (ownerId, deviceId);
        lock (_lock)
        {
            if (!_deviceConnections.TryGetValue(key, out var value))
            {
                return;
            }
            if (value is HashSet<string> set)
            {
                if (set.Remove(connectionId) && set.Count == 1)
                {
                    _deviceConnections[key] = set.First();
                }
            }
            else if (string.Equals((string)value, connectionId, StringComparison.Ordinal))
            {
                _deviceConnections.Remove(key);
            }
        }
    }

    /// <summary>Owner devices with at least one connection on this instance.</summary>
    public int DeviceCount
    {
        get
        {
            lock (_lock)
            {
                return _deviceConnections.Count;
            }
        }
    }

    public IReadOnlyList<string> ConnectionsOf(string ownerId, string deviceId)
    {
        lock (_lock)
        {
            return _deviceConnections.TryGetValue((ownerId, deviceId), out var value)
                ? value is HashSet<string> set ? [.. set] : [(string)value]
                : [];
        }
    }
}

/// <summary>The calls an owner device's connection counts presence for, and whether the connection has closed. SignalR
/// may run <c>OnDisconnectedAsync</c> while a hub method of the connection still awaits storage; a call that method
/// then counts would stay counted for a dead connection. So a method first marks the call pending
/// (<see cref="TryBegin"/>), counts it, and then asks <see cref="Complete"/>: false means the connection closed
/// meanwhile and the method undoes its count itself. <see cref="Close"/> hands back only completed calls.</summary>
internal class ConnectionCalls
{
    private readonly Lock _lock = new();
    private Dictionary<string, bool>? _calls; // call id -> counted; made for the first call (most connections count none)
    private bool _closed;

    /// <summary>Marks a call pending; false if the connection closed or already tracks the call.</summary>
    public bool TryBegin(string callId)
    {
        lock (_lock)
        {
            return !_closed && (_calls ??= new(StringComparer.Ordinal)).TryAdd(callId, false);
        }
    }

    /// <summary>The pending call is counted now; false if the connection closed meanwhile (undo the count).</summary>
    public bool Complete(string callId)
    {
        lock (_lock)
        {
            if (_closed)
            {
                _calls?.Remove(callId);
                return false;
            }
            (_calls ??= new(StringComparer.Ordinal))[callId] = true;
            return true;
        }
    }

    /// <summary>Forgets a pending call whose count failed.</summary>
    public void Abandon(string callId)
    {
        lock (_lock)
        {
            _calls?.Remove(callId);
        }
    }

    /// <summary>Closes the connection and returns the calls counted for it; pending ones are undone by their methods.</summary>
    public IReadOnlyList<string> Close()
    {
        lock (_lock)
        {
            _closed = true;
            var counted = _calls is null ? [] : _calls.Where(c => c.Value).Select(c => c.Key).ToArray();
            _calls = null;
            return counted;
        }
    }
}

/// <summary>Live hub connections per participant of a call on this instance: per call for the caller, per (owner,
/// device, call) for an owner device. A participant counts as connected while any of its connections is up, so a
/// reconnect that overtakes the server's notice of the old connection's death does not mark it gone. Changes of one key
/// run one at a time, each with its presence update, so the store sees them in the order the counts changed.</summary>
internal sealed class PresenceCounter(ILogger<PresenceCounter> logger)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>How long a change waits for the key's previous change (which may be stuck on storage). After it, the
    /// wait is logged and the change runs anyway: a rare out-of-order presence update beats a hub that hangs.</summary>
    public TimeSpan GateTimeout { get; init; } = TimeSpan.FromSeconds(10);

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
            var gated = await WaitGateAsync(entry);
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
                if (gated)
                {
                    entry.Gate.Release();
                }
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
            var gated = await WaitGateAsync(entry);
            try
            {
                await action(entry);
            }
            finally
            {
                if (gated)
                {
                    entry.Gate.Release();
                }
            }
        }
        finally
        {
            Leave(key, entry);
        }
    }

    private async ValueTask<bool> WaitGateAsync(Entry entry)
    {
        if (await entry.Gate.WaitAsync(GateTimeout))
        {
            return true;
        }
        Log.PresenceLockTimeout(logger, (int)GateTimeout.TotalSeconds);
        return false;
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
