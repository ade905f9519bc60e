namespace QrCalling.Storage;

/// <summary>A device an owner paired (server-issued id and credential). Only the keyed hash of its token is kept.</summary>
public sealed record DeviceRecord
{
    /// <summary>The device id (<c>qd_</c> + 22 base64url characters).</summary>
    public required string DeviceId { get; init; }
    /// <summary>The owner the device rings for.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The name the owner gave it (1 to 64 characters).</summary>
    public required string Name { get; init; }
    /// <summary>Keyed hash of the device token (32 bytes); the token itself is never stored.</summary>
    public required byte[] TokenHash { get; init; }
    /// <summary>When it was paired.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it last connected to the hub; null if never.</summary>
    public DateTimeOffset? LastSeenAt { get; init; }
    /// <summary>True once one of the owner's signed-in devices confirmed it (after comparing <see cref="CheckCode"/>);
    /// an unconfirmed device does not ring.</summary>
    public bool Confirmed { get; init; }
    /// <summary>The short check code shown on both devices until the pairing is confirmed (6 digits).</summary>
    public required string CheckCode { get; init; }
}

/// <summary>A pending pairing: single use, short-lived; only the keyed hash of its secret is kept.</summary>
public sealed record DevicePairing
{
    /// <summary>Keyed hash of the pairing secret (32 bytes).</summary>
    public required byte[] SecretHash { get; init; }
    /// <summary>The owner who asked for it.</summary>
    public required string OwnerId { get; init; }
    /// <summary>When it stops working.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What <see cref="IDeviceStore.PairAsync"/> did.</summary>
public enum DevicePairStatus
{
    /// <summary>The pairing was taken and the device stored.</summary>
    Paired,
    /// <summary>No live pairing has this secret hash (unknown, expired or already taken); nothing changed.</summary>
    PairingUnavailable,
    /// <summary>The pairing's owner already has the most devices allowed; nothing changed, the pairing is still there.</summary>
    QuotaExceeded,
}

/// <summary>The outcome of <see cref="IDeviceStore.PairAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Device">The stored device when <see cref="DevicePairStatus.Paired"/>, else null.</param>
public readonly record struct DevicePairResult(DevicePairStatus Status, DeviceRecord? Device);

/// <summary>Storage of owner devices and their pending pairings.</summary>
public interface IDeviceStore
{
    /// <summary>Stores a pending pairing.</summary>
    ValueTask CreatePairingAsync(DevicePairing pairing, CancellationToken cancellationToken);

    /// <summary>Atomically takes (deletes and returns) the pairing with this secret hash if it has not expired at
    /// <paramref name="now"/>; null if unknown, expired or already taken. Of N concurrent takes of one pairing, one
    /// succeeds.</summary>
    ValueTask<DevicePairing?> TakePairingAsync(byte[] secretHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> pairings that expired at or before <paramref name="now"/>;
    /// returns how many.</summary>
    ValueTask<int> DeleteExpiredPairingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);

    /// <summary>Atomically redeems a pairing: if a pairing with this secret hash exists, has not expired at
    /// <paramref name="now"/> and its owner has fewer than <paramref name="maxPerOwner"/> devices, deletes the pairing and
    /// stores the device <paramref name="newDevice"/> builds for that owner (its argument is the owner id). Past the cap
    /// nothing changes and the pairing stays usable (the owner may free a slot and use it again while it lives). Of N
    /// concurrent redemptions of one pairing at most one is <see cref="DevicePairStatus.Paired"/>.</summary>
    ValueTask<DevicePairResult> PairAsync(byte[] secretHash, DateTimeOffset now, int maxPerOwner, Func<string, DeviceRecord> newDevice,
        CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> unconfirmed devices created at or before
    /// <paramref name="createdAtOrBefore"/> (pending devices the owner never confirmed), with their token hashes; returns
    /// how many. Confirmed devices are never touched.</summary>
    ValueTask<int> DeleteExpiredPendingAsync(DateTimeOffset createdAtOrBefore, int maxCount, CancellationToken cancellationToken);

    /// <summary>Atomically stores a new device unless its owner already has <paramref name="maxPerOwner"/> devices;
    /// false (nothing stored) when the cap is reached.</summary>
    ValueTask<bool> CreateAsync(DeviceRecord device, int maxPerOwner, CancellationToken cancellationToken);

    /// <summary>The device with this token hash; null if none (revoked or never issued).</summary>
    ValueTask<DeviceRecord?> FindByTokenHashAsync(byte[] tokenHash, CancellationToken cancellationToken);

    /// <summary>An owner's devices, oldest first.</summary>
    ValueTask<IReadOnlyList<DeviceRecord>> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>Atomically renames and/or confirms one of an owner's devices (a null argument keeps that field); the
    /// updated record, or null when the owner has no device with this id.</summary>
    ValueTask<DeviceRecord?> UpdateAsync(string ownerId, string deviceId, string? name, bool? confirmed, CancellationToken cancellationToken);

    /// <summary>Records when a device was last seen (nothing for an unknown device).</summary>
    ValueTask TouchAsync(string ownerId, string deviceId, DateTimeOffset seenAt, CancellationToken cancellationToken);

    /// <summary>Deletes (revokes) one of an owner's devices with its token hash; false when the owner has no device with
    /// this id. Once it returns, <see cref="FindByTokenHashAsync"/> finds nothing for its token.</summary>
    ValueTask<bool> DeleteAsync(string ownerId, string deviceId, CancellationToken cancellationToken);
}
