namespace QrCalling.Transport;

/// <summary>Whether an owner can be rung now: one of its devices holds a live connection. Implemented by the transport
/// (the hosting package counts hub connections). Coarse by design: it says nothing about which device or since when.</summary>
public interface IOwnerPresence
{
    /// <summary>True when at least one of the owner's devices is connected now; false when none is; null when this
    /// instance cannot tell (for example several instances behind a backplane, and no connection here).</summary>
    ValueTask<bool?> IsReachableAsync(string ownerId, CancellationToken cancellationToken);
}
