using Microsoft.AspNetCore.SignalR;
using QrCalling.Transport;

namespace QrCalling.Hosting.Hubs;

/// <summary><see cref="IOwnerPresence"/> from the hub connections of this instance. With SignalR's default (single
/// instance) lifetime manager every connection is here, so the answer is exact. Behind a backplane (Redis) an owner may
/// be connected to another instance, which this one cannot see: a connection here still means true, but none here means
/// "cannot tell" (null, and the scan leaves <c>reachable</c> out) rather than a false "not reachable".</summary>
internal sealed class SignalROwnerPresence(QrCallingConnections connections, HubLifetimeManager<CallHub> lifetime) : IOwnerPresence
{
    private readonly bool _singleInstance = lifetime is DefaultHubLifetimeManager<CallHub>;

    public ValueTask<bool?> IsReachableAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        bool? reachable = connections.HasConnection(ownerId) ? true : _singleInstance ? false : null;
        return ValueTask.FromResult(reachable);
    }
}
