using Microsoft.AspNetCore.SignalR;
using QrCalling.Hosting.Http;
using QrCalling.Transport;

namespace QrCalling.Hosting.Hubs;

/// <summary><see cref="ITransport"/> over SignalR groups: one per owner, one per (owner, device) behind a backplane (else a
/// device's connections on this instance, see <see cref="ConnectionTracker.DeviceGroups"/>), one per call's caller.
/// Each event is sent as the hub method <see cref="ServerEvent.Name"/> with one argument, the event (camelCase).</summary>
internal sealed class SignalRTransport(IHubContext<CallHub> hub, ConnectionTracker tracker) : ITransport
{
    public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        new(hub.Clients.Group(ConnectionTracker.OwnerGroup(ownerId)).SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken));

    public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        new(hub.Clients.GroupExcept(ConnectionTracker.OwnerGroup(ownerId), tracker.ConnectionsOf(ownerId, exceptDeviceId))
            .SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken));

    public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        new((tracker.DeviceGroups ? hub.Clients.Group(ConnectionTracker.DeviceGroup(ownerId, deviceId)) : hub.Clients.Clients(tracker.ConnectionsOf(ownerId, deviceId)))
            .SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken));

    public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        new(hub.Clients.Group(ConnectionTracker.CallerGroup(callId)).SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken));
}
