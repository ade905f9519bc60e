using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using QrCalling.Diagnostics;

namespace QrCalling.Hosting.Hubs;

/// <summary>Open hub connections per caller's call, per owner and per client (keyed IP hash) on this instance, each with
/// its cap (<see cref="QrCallingRateLimitOptions.HubConnectionsPerCall"/> and the others). A connection takes a slot in
/// its identity's count and its client's before it joins any group, and gives both back when it closes.</summary>
internal sealed class ConnectionCaps(IOptions<QrCallingHostingOptions> options, IMeterFactory meterFactory)
{
    private readonly UpDownCounter<long> _connections = meterFactory.Create(QrCallingDiagnostics.MeterName)
        .CreateUpDownCounter<long>(QrCallingDiagnostics.HubConnections, "{connection}", "Open hub connections on this instance");
    private readonly Lock _lock = new();
    private readonly Dictionary<string, int> _open = new(StringComparer.Ordinal);

    /// <summary>The keys a connection counts under: its identity (call or owner) and its client.</summary>
    public static (string Identity, string Client) KeysOf(string identity, string clientKey) => (identity, "client:" + clientKey);

    /// <summary>Takes one slot under both keys, or none when either is at its cap.</summary>
    public bool TryOpen(string identity, string client)
    {
        var limits = options.Value.RateLimits;
        var identityCap = identity.StartsWith("call:", StringComparison.Ordinal) ? limits.HubConnectionsPerCall : limits.HubConnectionsPerOwner;
        lock (_lock)
        {
            var identityCount = _open.GetValueOrDefault(identity);
            var clientCount = _open.GetValueOrDefault(client);
            if (identityCount >= identityCap || clientCount >= limits.HubConnectionsPerClient)
            {
                return false;
            }
            _open[identity] = identityCount + 1;
            _open[client] = clientCount + 1;
            _connections.Add(1);
            return true;
        }
    }

    /// <summary>Gives back the slots <see cref="TryOpen"/> took.</summary>
    public void Close(string identity, string client)
    {
        lock (_lock)
        {
            Release(identity);
            Release(client);
        }
        _connections.Add(-1);
    }

    /// <summary>Open connections counted under a key (for tests).</summary>
    public int CountOf(string key)
    {
        lock (_lock)
        {
            return _open.GetValueOrDefault(key);
        }
    }

    private void Release(string key)
    {
        if (_open.TryGetValue(key, out var count))
        {
            if (count <= 1)
            {
                _open.Remove(key);
            }
            else
            {
                _open[key] = count - 1;
            }
        }
    }
}
