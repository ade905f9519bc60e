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
