namespace QrCalling.Transport;

/// <summary>QrCalling's delivery extension point: pushes server events to connected clients. The hosting package
/// implements it with SignalR groups; a multi-instance deployment delivers across instances (Redis).
/// Delivery is best-effort: a client that was offline catches up through the mailbox (Resume or long-poll).</summary>
public interface ITransport
{
    /// <summary>Delivers to every connected device of an owner.</summary>
    ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken);

    /// <summary>Delivers to every connected device of an owner except one (e.g. CallAnsweredElsewhere).</summary>
    ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken);

    /// <summary>Delivers to one device of an owner (its connections carrying that device id).</summary>
    ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken);

    /// <summary>Delivers to the caller of a call (every connection authenticated with that call's token).</summary>
    ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken);
}
