using QrCalling.Transport;

namespace QrCalling.Hosting.Internal;

/// <summary>Wraps the transport: an <see cref="IncomingCallEvent"/> to an owner (a new call, sent once by the instance
/// that started it) also queues a push to the owner's subscriptions. Queuing never waits, so the call path is not
/// delayed.</summary>
internal sealed class PushingTransport(ITransport inner, WebPushQueue queue) : ITransport
{
    public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken)
    {
        if (serverEvent is IncomingCallEvent incoming)
        {
            queue.Enqueue(new PushJob(ownerId, incoming.CallId, incoming.Label));
        }
        return inner.SendToOwnerAsync(ownerId, serverEvent, cancellationToken);
    }

    public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        inner.SendToOwnerExceptAsync(ownerId, exceptDeviceId, serverEvent, cancellationToken);

    public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        inner.SendToDeviceAsync(ownerId, deviceId, serverEvent, cancellationToken);

    public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) =>
        inner.SendToCallerAsync(callId, serverEvent, cancellationToken);
}
