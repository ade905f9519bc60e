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
        tracker.DeviceGroups
            ? new(hub.Clients.Group(ConnectionTracker.DeviceGroup(ownerId, deviceId)).SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken))
            : hub.Clients.SendEachAsync(tracker.ConnectionsOf(ownerId, deviceId), serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken);

    public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        new(hub.Clients.Group(ConnectionTracker.CallerGroup(callId)).SendAsync(serverEvent.Name, QrCallingJson.EventArgument(serverEvent), cancellationToken));
}

/// <summary>Sends to a few connections by id.</summary>
internal static class HubClientsExtensions
{
    /// <summary>Sends <paramref name="method"/> to each of <paramref name="connectionIds"/> (usually one: a device's
    /// connection) with a look-up by id. <c>Clients.Clients(ids)</c> would cost a pass over every connection of the
    /// instance, since SignalR's default lifetime manager filters them all, so each signal to an owner's device would
    /// take longer the more owners are online.</summary>
    public static ValueTask SendEachAsync<T>(this IHubClients clients, IReadOnlyList<string> connectionIds, string method, T argument, CancellationToken cancellationToken) =>
        connectionIds.Count switch
        {
            0 => ValueTask.CompletedTask,
            1 => new(clients.Client(connectionIds[0]).SendAsync(method, argument, cancellationToken)),
            _ => new(Task.WhenAll(connectionIds.Select(id => clients.Client(id).SendAsync(method, argument, cancellationToken)))),
        };
}
