using System.Globalization;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Backups on Redis: each version is the hash <c>bk:{version}:{owner}</c> (size, created, expires, data) with a
/// TTL at its expiry; <c>bks:{owner}</c> is the sorted set of the owner's versions, <c>bkhead:{owner}</c> the last version
/// number, <c>bks-expiring</c> all versions by expiry for the sweep. An upload is one Lua script (version, write, prune),
/// so a failed or cut-off upload writes nothing. The size cap is <c>QrCallingOptions.MaxBackupBytes</c> (at most 256 MiB,
/// under Redis's 512 MB value limit), checked before anything is sent to Redis.</summary>
internal sealed class RedisBackupStore(RedisStorage storage) : IBackupStore
{
    // KEYS: bkhead, bks, bks-expiring. ARGV: prefix, owner, data, size, created ms, expires ms, keep, ttl ms.
    private const string AddScript = """
        local p, o = ARGV[1], ARGV[2]
        local v = redis.call('INCR', KEYS[1])
        local k = p .. 'bk:' .. v .. ':' .. o
        redis.call('HSET', k, 'size', ARGV[4], 'created', ARGV[5], 'expires', ARGV[6], 'data', ARGV[3])
        redis.call('PEXPIRE', k, ARGV[8])
        redis.call('ZADD', KEYS[2], v, v)
        redis.call('ZADD', KEYS[3], ARGV[6], v .. ':' .. o)
        local n = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[7])
        if n > 0 then
          for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, n - 1)) do
            redis.call('DEL', p .. 'bk:' .. old .. ':' .. o)
            redis.call('ZREM', KEYS[2], old)
            redis.call('ZREM', KEYS[3], old .. ':' .. o)
          end
        end
        return v
        """;

    // KEYS: bks, bks-expiring. ARGV: prefix, owner, version.
    private const string DeleteScript = """
        local p, o, v = ARGV[1], ARGV[2], ARGV[3]
        redis.call('ZREM', KEYS[1], v)
        redis.call('ZREM', KEYS[2], v .. ':' .. o)
        return redis.call('DEL', p .. 'bk:' .. v .. ':' .. o)
        """;

    // KEYS: bks-expiring. ARGV: prefix, now ms, max.
    private const string SweepScript = """
        local p = ARGV[1]
        local n = 0
        for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
          local i = string.find(m, ':', 1, true)
          local v, o = string.sub(m, 1, i - 1), string.sub(m, i + 1)
          n = n + redis.call('DEL', p .. 'bk:' .. v .. ':' .. o)
          redis.call('ZREM', p .. 'bks:' .. o, v)
          redis.call('ZREM', KEYS[1], m)
        end
        return n
        """;

    private RedisKey Head(string owner) => storage.Keys.Prefix + "bkhead:" + owner;
    private RedisKey Versions(string owner) => storage.Keys.Prefix + "bks:" + owner;
    private RedisKey Version(string owner, long version) => storage.Keys.Prefix + "bk:" + version.ToString(CultureInfo.InvariantCulture) + ":" + owner;
    private RedisKey Expiring => storage.Keys.Prefix + "bks-expiring";

    public async ValueTask<BackupVersion> AddAsync(string ownerId, ReadOnlyMemory<byte> content, int keepVersions, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var result = await storage.Connection.RunAsync("backup add", db => db.ScriptEvaluateAsync(AddScript, [Head(ownerId), Versions(ownerId), Expiring],
            [storage.Keys.Prefix, ownerId, content, content.Length, RedisStorage.Ms(now), RedisStorage.Ms(expiresAt), Math.Max(keepVersions, 1),
             storage.TtlMs(expiresAt)]), cancellationToken).ConfigureAwait(false);
        return new BackupVersion { OwnerId = ownerId, Version = (long)result, Size = content.Length, CreatedAt = now, ExpiresAt = expiresAt };
    }

    public async ValueTask<IReadOnlyList<BackupVersion>> ListAsync(string ownerId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await storage.Connection.RunAsync("backup list", async db =>
        {
            var versions = await db.SortedSetRangeByRankAsync(Versions(ownerId), order: Order.Descending).ConfigureAwait(false);
            var metas = await Task.WhenAll(versions.Select(v => db.HashGetAsync(Version(ownerId, (long)v), ["size", "created", "expires"]))).ConfigureAwait(false);
            var list = new List<BackupVersion>();
            for (var i = 0; i < versions.Length; i++)
            {
                if (Parse(ownerId, (long)versions[i], metas[i]) is { } version && version.ExpiresAt > now)
                {
                    list.Add(version);
                }
            }
            return (IReadOnlyList<BackupVersion>)list;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<BackupContent?> GetAsync(string ownerId, long? version, DateTimeOffset now, CancellationToken cancellationToken)
    {
        return await storage.Connection.RunAsync("backup get", async db =>
        {
            var candidates = version is { } v ? [v] : (await db.SortedSetRangeByRankAsync(Versions(ownerId), order: Order.Descending).ConfigureAwait(false))
                .Select(x => (long)x).ToArray();
            foreach (var candidate in candidates)
            {
                var fields = await db.HashGetAsync(Version(ownerId, candidate), ["size", "created", "expires", "data"]).ConfigureAwait(false);
                if (Parse(ownerId, candidate, fields) is { } meta && meta.ExpiresAt > now && !fields[3].IsNull)
                {
                    return new BackupContent(meta, (byte[])fields[3]!);
                }
            }
            return null;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<bool> DeleteAsync(string ownerId, long version, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("backup delete", db => db.ScriptEvaluateAsync(DeleteScript, [Versions(ownerId), Expiring],
            [storage.Keys.Prefix, ownerId, version]), cancellationToken).ConfigureAwait(false);
        return (int)result > 0;
    }

    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync("backup sweep", db => db.ScriptEvaluateAsync(SweepScript, [Expiring],
            [storage.Keys.Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken).ConfigureAwait(false);
        return (int)result;
    }

    private static BackupVersion? Parse(string ownerId, long version, RedisValue[] fields) =>
        fields[0].IsNull || fields[1].IsNull || fields[2].IsNull
            ? null
            : new BackupVersion
            {
                OwnerId = ownerId,
                Version = version,
                Size = (long)fields[0],
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds((long)fields[1]),
                ExpiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)fields[2]),
            };
}
