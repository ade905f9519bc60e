using Microsoft.AspNetCore.SignalR;
using QrCalling.Hosting.Hubs;

namespace QrCalling.Hosting;

/// <summary>The open hub connections on this instance, for a host that revokes an owner's credentials (sign-out,
/// password change, a blocked account): <see cref="CloseOwner"/> closes every hub connection of that owner, which
/// then has to reconnect with a credential that is still valid. With several instances, call it on each (for example
/// from a message the host already broadcasts).</summary>
public sealed class QrCallingConnections
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (string OwnerId, HubCallerContext Context)> _owners = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _perOwner = new(StringComparer.Ordinal); // open connections per owner

    internal void Opened(string ownerId, HubCallerContext context)
    {
        lock (_lock)
        {
            if (_owners.TryAdd(context.ConnectionId, (ownerId, context)))
            {
                _perOwner[ownerId] = _perOwner.GetValueOrDefault(ownerId) + 1;
            }
        }
    }

    internal void Closed(string connectionId)
    {
        lock (_lock)
        {
            if (_owners.Remove(connectionId, out var closed) && --_perOwner[closed.OwnerId] == 0)
            {
                _perOwner.Remove(closed.OwnerId);
            }
        }
    }

    /// <summary>True while the owner has at least one open hub connection on this instance.</summary>
    internal bool HasConnection(string ownerId)
    {
        lock (_lock)
        {
            return _perOwner.ContainsKey(ownerId);
        }
    }

    /// <summary>Closes the given hub connections that are open on this instance; returns how many it closed.</summary>
    internal int Close(IReadOnlyList<string> connectionIds)
    {
        List<HubCallerContext> closing = [];
        lock (_lock)
        {
            foreach (var id in connectionIds)
            {
                if (_owners.TryGetValue(id, out var open))
                {
                    closing.Add(open.Context);
                }
            }
        }
        foreach (var context in closing)
        {
            context.Abort();
        }
        return closing.Count;
    }

    /// <summary>Closes every hub connection of an owner on this instance; returns how many it closed.</summary>
    /// <param name="ownerId">The owner's id (the host's user id claim).</param>
    public int CloseOwner(string ownerId)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        List<HubCallerContext> closing;
        lock (_lock)
        {
            closing = [.. _owners.Values.Where(o => o.OwnerId == ownerId).Select(o => o.Context)];
        }
        foreach (var context in closing)
        {
            context.Abort();
        }
        return closing.Count;
    }
}
