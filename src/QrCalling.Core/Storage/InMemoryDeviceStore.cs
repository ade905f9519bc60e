namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IDeviceStore"/>: one lock over devices and pairings.</summary>
internal sealed class InMemoryDeviceStore : IDeviceStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DevicePairing> _pairings = new(StringComparer.Ordinal); // hex of secret hash
    private readonly Dictionary<string, DeviceRecord> _devices = new(StringComparer.Ordinal); // device id
    private readonly Dictionary<string, string> _byToken = new(StringComparer.Ordinal); // hex of token hash -> device id

    public ValueTask CreatePairingAsync(DevicePairing pairing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pairing);
        lock (_lock)
        {
            _pairings[Convert.ToHexString(pairing.SecretHash)] = pairing;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<DevicePairing?> TakePairingAsync(byte[] secretHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        lock (_lock)
        {
            return ValueTask.FromResult(_pairings.Remove(Convert.ToHexString(secretHash), out var pairing) && pairing.ExpiresAt > now ? pairing : null);
        }
    }

    public ValueTask<int> DeleteExpiredPairingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var expired = _pairings.Where(p => p.Value.ExpiresAt <= now).Take(maxCount).Select(p => p.Key).ToList();
            foreach (var key in expired)
            {
                _pairings.Remove(key);
            }
            return ValueTask.FromResult(expired.Count);
        }
    }

    public ValueTask<DevicePairResult> PairAsync(byte[] secretHash, DateTimeOffset now, int maxPerOwner, Func<string, DeviceRecord> newDevice,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(newDevice);
        lock (_lock)
        {
            var key = Convert.ToHexString(secretHash);
            if (!_pairings.TryGetValue(key, out var pairing) || pairing.ExpiresAt <= now)
            {
                return ValueTask.FromResult(new DevicePairResult(DevicePairStatus.PairingUnavailable, null));
            }
            if (_devices.Values.Count(d => d.OwnerId == pairing.OwnerId) >= maxPerOwner)
            {
                return ValueTask.FromResult(new DevicePairResult(DevicePairStatus.QuotaExceeded, null));
            }
            var device = newDevice(pairing.OwnerId);
            _pairings.Remove(key);
            _devices[device.DeviceId] = device;
            _byToken[Convert.ToHexString(device.TokenHash)] = device.DeviceId;
            return ValueTask.FromResult(new DevicePairResult(DevicePairStatus.Paired, device));
        }
    }

    public ValueTask<int> DeleteExpiredPendingAsync(DateTimeOffset createdAtOrBefore, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var expired = _devices.Values.Where(d => !d.Confirmed && d.CreatedAt <= createdAtOrBefore).Take(maxCount).ToList();
            foreach (var device in expired)
            {
                _devices.Remove(device.DeviceId);
                _byToken.Remove(Convert.ToHexString(device.TokenHash));
            }
            return ValueTask.FromResult(expired.Count);
        }
    }

    public ValueTask<bool> CreateAsync(DeviceRecord device, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        lock (_lock)
        {
            if (_devices.Values.Count(d => d.OwnerId == device.OwnerId) >= maxPerOwner)
            {
                return ValueTask.FromResult(false);
            }
            _devices[device.DeviceId] = device;
            _byToken[Convert.ToHexString(device.TokenHash)] = device.DeviceId;
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<DeviceRecord?> FindByTokenHashAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        lock (_lock)
        {
            return ValueTask.FromResult(_byToken.TryGetValue(Convert.ToHexString(tokenHash), out var id) ? _devices.GetValueOrDefault(id) : null);
        }
    }

    public ValueTask<IReadOnlyList<DeviceRecord>> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<DeviceRecord> list = [.. _devices.Values.Where(d => d.OwnerId == ownerId)
                .OrderBy(d => d.CreatedAt).ThenBy(d => d.DeviceId, StringComparer.Ordinal)];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<DeviceRecord?> UpdateAsync(string ownerId, string deviceId, string? name, bool? confirmed, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var device) || device.OwnerId != ownerId)
            {
                return ValueTask.FromResult<DeviceRecord?>(null);
            }
            device = device with { Name = name ?? device.Name, Confirmed = confirmed ?? device.Confirmed };
            _devices[deviceId] = device;
            return ValueTask.FromResult<DeviceRecord?>(device);
        }
    }

    public ValueTask TouchAsync(string ownerId, string deviceId, DateTimeOffset seenAt, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_devices.TryGetValue(deviceId, out var device) && device.OwnerId == ownerId)
            {
                _devices[deviceId] = device with { LastSeenAt = seenAt };
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> DeleteAsync(string ownerId, string deviceId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_devices.TryGetValue(deviceId, out var device) || device.OwnerId != ownerId)
            {
                return ValueTask.FromResult(false);
            }
            _devices.Remove(deviceId);
            _byToken.Remove(Convert.ToHexString(device.TokenHash));
            return ValueTask.FromResult(true);
        }
    }

    /// <summary>Deletes an owner's devices and pairings; returns how many devices.</summary>
    internal int EraseOwner(string ownerId)
    {
        lock (_lock)
        {
            var devices = _devices.Values.Where(d => d.OwnerId == ownerId).ToList();
            foreach (var device in devices)
            {
                _devices.Remove(device.DeviceId);
                _byToken.Remove(Convert.ToHexString(device.TokenHash));
            }
            foreach (var key in _pairings.Where(p => p.Value.OwnerId == ownerId).Select(p => p.Key).ToList())
            {
                _pairings.Remove(key);
            }
            return devices.Count;
        }
    }
}
