using System.Globalization;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Devices on Redis: the hash <c>dev:{id}</c> (owner, name, tok, created, seen, confirmed, check), the string
/// <c>devtok:{hex of token hash}</c> → id, the sorted set <c>owner-devs:{owner}</c> by creation; pending pairings as
/// strings <c>dpair:{hex of secret hash}</c> (owner and expiry, with a TTL) listed in <c>owner-dpairs:{owner}</c> and, by
/// expiry, in <c>dpairs-expiring</c> (for the sweep); unconfirmed devices by creation in <c>devs-pending</c> (for the sweep of
/// pending devices the owner never confirmed). Every
/// write that checks something is one Lua script.</summary>
internal sealed class RedisDeviceStore(RedisStorage storage) : IDeviceStore
{
    // KEYS: dev, devtok, owner-devs, devs-pending. ARGV: id, owner, name, tokhex, created ms, confirmed, check, max.
    private const string CreateScript = """
        if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[8]) then return 0 end
        redis.call('HSET', KEYS[1], 'owner', ARGV[2], 'name', ARGV[3], 'tok', ARGV[4], 'created', ARGV[5], 'confirmed', ARGV[6], 'check', ARGV[7])
        redis.call('SET', KEYS[2], ARGV[1])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
        if ARGV[6] == '0' then redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1]) end
        return 1
        """;

    // KEYS: dpair, owner-devs, dev, devtok, dpairs-expiring, devs-pending. ARGV: the pairing's value as read, id, owner,
    // name, tokhex, created ms, confirmed, check, max, secret hex. -1: the pairing is gone (taken meanwhile); 0: cap.
    private const string PairScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
        if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[9]) then return 0 end
        redis.call('HSET', KEYS[3], 'owner', ARGV[3], 'name', ARGV[4], 'tok', ARGV[5], 'created', ARGV[6], 'confirmed', ARGV[7], 'check', ARGV[8])
        redis.call('SET', KEYS[4], ARGV[2])
        redis.call('ZADD', KEYS[2], ARGV[6], ARGV[2])
        if ARGV[7] == '0' then redis.call('ZADD', KEYS[6], ARGV[6], ARGV[2]) end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', KEYS[5], ARGV[10])
        return 1
        """;

    // KEYS: devs-pending. ARGV: prefix, cutoff ms, max. Deletes unconfirmed devices created at or before the cutoff.
    private const string SweepPendingScript = """
        local n = 0
        for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
          local f = redis.call('HMGET', ARGV[1] .. 'dev:' .. id, 'owner', 'tok', 'confirmed')
          if f[1] and f[3] == '0' then
            redis.call('DEL', ARGV[1] .. 'dev:' .. id, ARGV[1] .. 'devtok:' .. f[2])
            redis.call('ZREM', ARGV[1] .. 'owner-devs:' .. f[1], id)
            n = n + 1
          end
          redis.call('ZREM', KEYS[1], id)
        end
        return n
        """;

    // KEYS: dev, devs-pending. ARGV: owner, name or '', confirmed or '', id. Returns the hash, or nil for another owner's / unknown.
    private const string UpdateScript = """
        if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return nil end
        if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'name', ARGV[2]) end
        if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'confirmed', ARGV[3]) end
        if ARGV[3] == '1' then redis.call('ZREM', KEYS[2], ARGV[4]) end
        return redis.call('HGETALL', KEYS[1])
        """;

    // KEYS: dev. ARGV: owner, seen ms.
    private const string TouchScript = """
        if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('HSET', KEYS[1], 'seen', ARGV[2]) end
        return 0
        """;

    // KEYS: dev, owner-devs, devs-pending. ARGV: prefix, owner, id.
    private const string DeleteScript = """
        local f = redis.call('HMGET', KEYS[1], 'owner', 'tok')
        if f[1] ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1], ARGV[1] .. 'devtok:' .. f[2])
        redis.call('ZREM', KEYS[2], ARGV[3])
        redis.call('ZREM', KEYS[3], ARGV[3])
        return 1
        """;

    // KEYS: dpairs-expiring. ARGV: prefix, now ms, max.
    private const string SweepScript = """
        local n = 0
        for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
          n = n + redis.call('DEL', ARGV[1] .. 'dpair:' .. h)
          redis.call('ZREM', KEYS[1], h)
        end
        return n
        """;

    private RedisKey PendingDevices => storage.Keys.Prefix + "devs-pending";
    private RedisKey ExpiringPairings => storage.Keys.Prefix + "dpairs-expiring";
    private RedisKey Device(string id) => storage.Keys.Prefix + "dev:" + id;
    private RedisKey DeviceToken(byte[] hash) => storage.Keys.Prefix + "devtok:" + Convert.ToHexStringLower(hash);
    private RedisKey OwnerDevices(string owner) => storage.Keys.Prefix + "owner-devs:" + owner;
    private RedisKey Pairing(byte[] hash) => storage.Keys.Prefix + "dpair:" + Convert.ToHexStringLower(hash);
    private RedisKey OwnerPairings(string owner) => storage.Keys.Prefix + "owner-dpairs:" + owner;

    public async ValueTask CreatePairingAsync(DevicePairing pairing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pairing);
        var ttl = TimeSpan.FromMilliseconds(storage.TtlMs(pairing.ExpiresAt));
        var value = pairing.ExpiresAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + " " + pairing.OwnerId;
        await storage.Connection.RunAsync("device pairing create", async db =>
        {
            var tx = db.CreateTransaction();
            _ = tx.StringSetAsync(Pairing(pairing.SecretHash), value, ttl);
            _ = tx.SetAddAsync(OwnerPairings(pairing.OwnerId), Convert.ToHexStringLower(pairing.SecretHash));
            _ = tx.KeyExpireAsync(OwnerPairings(pairing.OwnerId), ttl); // pairings share one lifetime: the newest lives longest
            _ = tx.SortedSetAddAsync(ExpiringPairings, Convert.ToHexStringLower(pairing.SecretHash), pairing.ExpiresAt.ToUnixTimeMilliseconds());
            return await tx.ExecuteAsync().ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DevicePairing?> TakePairingAsync(byte[] secretHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        var value = (string?)await storage.Connection.RunAsync("device pairing take", async db =>
        {
            var taken = await db.StringGetDeleteAsync(Pairing(secretHash)).ConfigureAwait(false);
            await db.SortedSetRemoveAsync(ExpiringPairings, Convert.ToHexStringLower(secretHash)).ConfigureAwait(false);
            return taken;
        }, cancellationToken).ConfigureAwait(false);
        var space = value?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (value is null || space < 0)
        {
            return null;
        }
        var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value.AsSpan(0, space), CultureInfo.InvariantCulture));
        return expiresAt > now ? new DevicePairing { SecretHash = secretHash, OwnerId = value[(space + 1)..], ExpiresAt = expiresAt } : null;
    }

    /// <summary>Deletes pairings whose expiry passed (their keys also carry a TTL; an expired one is never taken, the expiry
    /// is checked too). Returns how many keys it deleted.</summary>
    public async ValueTask<int> DeleteExpiredPairingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("device pairing sweep", db => db.ScriptEvaluateAsync(SweepScript, [ExpiringPairings],
            [storage.Keys.Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken).ConfigureAwait(false);
        return (int)result;
    }

    public async ValueTask<DevicePairResult> PairAsync(byte[] secretHash, DateTimeOffset now, int maxPerOwner, Func<string, DeviceRecord> newDevice,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(newDevice);
        var value = (string?)await storage.Connection.RunAsync("device pairing read", db => db.StringGetAsync(Pairing(secretHash)), cancellationToken)
            .ConfigureAwait(false);
        var space = value?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (value is null || space < 0
            || DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(value.AsSpan(0, space), CultureInfo.InvariantCulture)) <= now)
        {
            return new DevicePairResult(DevicePairStatus.PairingUnavailable, null);
        }
        var owner = value[(space + 1)..];
        var device = newDevice(owner) with { OwnerId = owner };
        var result = (int)await storage.Connection.RunAsync("device pair", db => db.ScriptEvaluateAsync(PairScript,
            [Pairing(secretHash), OwnerDevices(owner), Device(device.DeviceId), DeviceToken(device.TokenHash), ExpiringPairings, PendingDevices],
            [value, device.DeviceId, owner, device.Name, Convert.ToHexStringLower(device.TokenHash), RedisStorage.Ms(device.CreatedAt),
             device.Confirmed ? "1" : "0", device.CheckCode, maxPerOwner, Convert.ToHexStringLower(secretHash)]), cancellationToken).ConfigureAwait(false);
        return result switch
        {
            1 => new DevicePairResult(DevicePairStatus.Paired, device),
            0 => new DevicePairResult(DevicePairStatus.QuotaExceeded, null),
            _ => new DevicePairResult(DevicePairStatus.PairingUnavailable, null),
        };
    }

    public async ValueTask<int> DeleteExpiredPendingAsync(DateTimeOffset createdAtOrBefore, int maxCount, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("device pending sweep", db => db.ScriptEvaluateAsync(SweepPendingScript, [PendingDevices],
            [storage.Keys.Prefix, RedisStorage.Ms(createdAtOrBefore), maxCount]), cancellationToken).ConfigureAwait(false);
        return (int)result;
    }

    public async ValueTask<bool> CreateAsync(DeviceRecord device, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        var result = await storage.Connection.RunAsync("device create", db => db.ScriptEvaluateAsync(CreateScript,
            [Device(device.DeviceId), DeviceToken(device.TokenHash), OwnerDevices(device.OwnerId), PendingDevices],
            [device.DeviceId, device.OwnerId, device.Name, Convert.ToHexStringLower(device.TokenHash), RedisStorage.Ms(device.CreatedAt),
             device.Confirmed ? "1" : "0", device.CheckCode, maxPerOwner]), cancellationToken).ConfigureAwait(false);
        return (int)result == 1;
    }

    public async ValueTask<DeviceRecord?> FindByTokenHashAsync(byte[] tokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tokenHash);
        return await storage.Connection.RunAsync("device find", async db =>
        {
            var id = (string?)await db.StringGetAsync(DeviceToken(tokenHash)).ConfigureAwait(false);
            return id is null ? null : Parse(id, RedisStorage.ToFields(await db.HashGetAllAsync(Device(id)).ConfigureAwait(false)));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<DeviceRecord>> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken)
    {
        return await storage.Connection.RunAsync("device list", async db =>
        {
            var ids = await db.SortedSetRangeByRankAsync(OwnerDevices(ownerId)).ConfigureAwait(false);
            var hashes = await Task.WhenAll(ids.Select(id => db.HashGetAllAsync(Device(id!)))).ConfigureAwait(false);
            var list = new List<DeviceRecord>(ids.Length);
            for (var i = 0; i < ids.Length; i++)
            {
                if (Parse(ids[i]!, RedisStorage.ToFields(hashes[i])) is { } device && device.OwnerId == ownerId)
                {
                    list.Add(device);
                }
            }
            return (IReadOnlyList<DeviceRecord>)[.. list.OrderBy(d => d.CreatedAt).ThenBy(d => d.DeviceId, StringComparer.Ordinal)];
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DeviceRecord?> UpdateAsync(string ownerId, string deviceId, string? name, bool? confirmed, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("device update", db => db.ScriptEvaluateAsync(UpdateScript, [Device(deviceId), PendingDevices],
            [ownerId, name ?? "", confirmed is { } c ? (c ? "1" : "0") : "", deviceId]), cancellationToken).ConfigureAwait(false);
        return Parse(deviceId, RedisStorage.ToFields(result));
    }

    public async ValueTask TouchAsync(string ownerId, string deviceId, DateTimeOffset seenAt, CancellationToken cancellationToken) =>
        await storage.Connection.RunAsync("device touch", db => db.ScriptEvaluateAsync(TouchScript, [Device(deviceId)], [ownerId, RedisStorage.Ms(seenAt)]),
            cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string ownerId, string deviceId, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("device delete", db => db.ScriptEvaluateAsync(DeleteScript, [Device(deviceId), OwnerDevices(ownerId), PendingDevices],
            [storage.Keys.Prefix, ownerId, deviceId]), cancellationToken).ConfigureAwait(false);
        return (int)result == 1;
    }

    private static DeviceRecord? Parse(string id, Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("owner", out var owner))
        {
            return null;
        }
        return new DeviceRecord
        {
            DeviceId = id,
            OwnerId = owner,
            Name = f["name"],
            TokenHash = Convert.FromHexString(f["tok"]),
            CreatedAt = RedisStorage.ParseTime(f["created"])!.Value,
            LastSeenAt = RedisStorage.ParseTime(f.GetValueOrDefault("seen")),
            Confirmed = f["confirmed"] == "1",
            CheckCode = f["check"],
        };
    }
}
