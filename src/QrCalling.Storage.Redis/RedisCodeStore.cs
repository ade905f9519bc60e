using System.Globalization;
using QrCalling.Codes;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Codes on Redis. A code is the hash <c>code:{id}</c> plus the pointer <c>codekey:{hex}</c>; both live until
/// min(expiresAt, revokedAt) + CodeRetention, or without a TTL while the code neither expires nor is revoked.</summary>
internal sealed class RedisCodeStore(RedisStorage storage) : ICodeStore
{
    // KEYS: code, codekey, owner-codes, codes-stale. ARGV: id, createdAt ms, ttl ms or '', stale score or '', fields…
    private const string CreateScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], unpack(ARGV, 5))
        redis.call('SET', KEYS[2], ARGV[1])
        local existed = redis.call('EXISTS', KEYS[3])
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        if ARGV[3] == '' then
          redis.call('PERSIST', KEYS[3])
        else
          redis.call('PEXPIRE', KEYS[1], ARGV[3])
          redis.call('PEXPIRE', KEYS[2], ARGV[3])
          local ttl = tonumber(ARGV[3])
          local cur = redis.call('PTTL', KEYS[3])
          if existed == 0 or (cur >= 0 and cur < ttl) then redis.call('PEXPIRE', KEYS[3], ARGV[3]) end
        end
        if ARGV[4] ~= '' then redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1]) end
        return 1
        """;

    // KEYS: codekey. ARGV: prefix.
    private const string FindByKeyScript = """
        local id = redis.call('GET', KEYS[1])
        if not id then return nil end
        return redis.call('HGETALL', ARGV[1] .. 'code:' .. id)
        """;

    // KEYS: codekey. ARGV: prefix. The code, its policy and whether it has blocks (RedisCallerControlStore's keys).
    private const string FindWithControlsScript = """
        local id = redis.call('GET', KEYS[1])
        if not id then return nil end
        return {redis.call('HGETALL', ARGV[1] .. 'code:' .. id), redis.call('HGETALL', ARGV[1] .. 'cpolicy:' .. id),
          redis.call('EXISTS', ARGV[1] .. 'cblocks:' .. id)}
        """;

    // KEYS: codekey. ARGV: prefix, now ms.
    private const string CountScanScript = """
        local id = redis.call('GET', KEYS[1])
        if not id then return nil end
        local k = ARGV[1] .. 'code:' .. id
        local f = redis.call('HMGET', k, 'id', 'rev', 'exp', 'max', 'scans', 'paused')
        if not f[1] or f[2] or f[6] then return nil end
        local now = tonumber(ARGV[2])
        if f[3] and now >= tonumber(f[3]) then return nil end
        if f[4] and tonumber(f[5]) >= tonumber(f[4]) then return nil end
        redis.call('HINCRBY', k, 'scans', 1)
        redis.call('HSET', k, 'last', ARGV[2])
        return redis.call('HGETALL', k)
        """;

    // KEYS: code, codes-stale. ARGV: prefix, owner, now ms, retention ms, clock ms, floor ms.
    private const string RevokeScript = """
        local f = redis.call('HMGET', KEYS[1], 'owner', 'rev', 'exp', 'key', 'id')
        if not f[1] or f[1] ~= ARGV[2] or f[2] then return 0 end
        local now = tonumber(ARGV[3])
        redis.call('HSET', KEYS[1], 'rev', ARGV[3])
        local stale = now
        if f[3] and tonumber(f[3]) < now then stale = tonumber(f[3]) end
        redis.call('ZADD', KEYS[2], 'LT', stale, f[5])
        local ttl = stale + tonumber(ARGV[4]) - tonumber(ARGV[5])
        if ttl < tonumber(ARGV[6]) then ttl = tonumber(ARGV[6]) end
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', ARGV[1] .. 'codekey:' .. f[4], ttl)
        return 1
        """;

    // KEYS: codes-stale. ARGV: prefix, cutoff ms, max.
    private const string DeleteStaleScript = RedisCallerControlStore.DropControlsLua + "\n" + """
        local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
        local n = 0
        for _, id in ipairs(ids) do
          local k = ARGV[1] .. 'code:' .. id
          local f = redis.call('HMGET', k, 'owner', 'key')
          if f[1] then
            redis.call('DEL', k, ARGV[1] .. 'codekey:' .. f[2])
            redis.call('ZREM', ARGV[1] .. 'owner-codes:' .. f[1], id)
            drop_controls(ARGV[1], id)
            n = n + 1
          end
          redis.call('ZREM', KEYS[1], id)
        end
        return n
        """;

    // KEYS: code. ARGV: owner, label or '', media or ''; ARGV[4] '1' when a label is given (it may be empty).
    private const string UpdateScript = """
        local owner = redis.call('HGET', KEYS[1], 'owner')
        if not owner or owner ~= ARGV[1] then return nil end
        if ARGV[4] == '1' then redis.call('HSET', KEYS[1], 'label', ARGV[2]) end
        if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'media', ARGV[3]) end
        return redis.call('HGETALL', KEYS[1])
        """;

    // KEYS: code, codes-stale. ARGV: prefix, owner.
    private const string DeleteScript = RedisCallerControlStore.DropControlsLua + "\n" + """
        local f = redis.call('HMGET', KEYS[1], 'owner', 'key', 'id')
        if not f[1] or f[1] ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1], ARGV[1] .. 'codekey:' .. f[2])
        drop_controls(ARGV[1], f[3])
        redis.call('ZREM', ARGV[1] .. 'owner-codes:' .. f[1], f[3])
        redis.call('ZREM', KEYS[2], f[3])
        return 1
        """;

    // KEYS: code. ARGV: owner, paused-at ms, or '' to resume. A pause keeps an earlier pause's time.
    private const string PauseScript = """
        local owner = redis.call('HGET', KEYS[1], 'owner')
        if not owner or owner ~= ARGV[1] then return nil end
        if ARGV[2] == '' then
          redis.call('HDEL', KEYS[1], 'paused')
        else
          redis.call('HSETNX', KEYS[1], 'paused', ARGV[2])
        end
        return redis.call('HGETALL', KEYS[1])
        """;

    private RedisKeys Keys => storage.Keys;

    public async ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        var staleSince = Min(code.ExpiresAt, code.RevokedAt);
        var args = new List<RedisValue>
        {
            code.Id,
            RedisStorage.Ms(code.CreatedAt),
            staleSince is { } s ? storage.TtlMs(s + storage.Options.CodeRetention) : RedisValue.EmptyString,
            RedisStorage.Ms(staleSince),
        };
        AddField(args, "id", code.Id);
        AddField(args, "owner", code.OwnerId);
        AddField(args, "key", Convert.ToHexStringLower(code.KeyHash));
        AddField(args, "label", code.Label);
        AddField(args, "media", ((int)code.Media).ToString(CultureInfo.InvariantCulture));
        AddField(args, "created", RedisStorage.Ms(code.CreatedAt));
        AddField(args, "scans", code.ScanCount);
        if (code.ExpiresAt is { } e) AddField(args, "exp", RedisStorage.Ms(e));
        if (code.MaxScans is { } m) AddField(args, "max", m);
        if (code.LastScannedAt is { } l) AddField(args, "last", RedisStorage.Ms(l));
        if (code.RevokedAt is { } r) AddField(args, "rev", RedisStorage.Ms(r));
        if (code.PausedAt is { } p) AddField(args, "paused", RedisStorage.Ms(p));
        RedisKey[] keys = [Keys.Code(code.Id), Keys.CodeKey(code.KeyHash), Keys.OwnerCodes(code.OwnerId), Keys.StaleCodes];
        var created = await storage.Connection.RunAsync(nameof(CreateAsync),
            db => db.ScriptEvaluateAsync(CreateScript, keys, args.ToArray()), cancellationToken).ConfigureAwait(false);
        if ((long)created != 1)
        {
            throw new InvalidOperationException("A code with this id or key hash already exists.");
        }
    }

    public async ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        var result = await storage.Connection.RunAsync(nameof(FindByKeyAsync),
            db => db.ScriptEvaluateAsync(FindByKeyScript, [Keys.CodeKey(keyHash)], [Keys.Prefix]), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    /// <summary>See <see cref="IStorage.FindCodeWithControlsAsync"/>: one script.</summary>
    internal async ValueTask<CodeWithControls?> FindWithControlsAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        var result = await storage.Connection.RunAsync(nameof(IStorage.FindCodeWithControlsAsync),
            db => db.ScriptEvaluateAsync(FindWithControlsScript, [Keys.CodeKey(keyHash)], [Keys.Prefix]), cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }
        var parts = (RedisResult[])result!;
        return Parse(RedisStorage.ToFields(parts[0])) is { } code
            ? new CodeWithControls(code, RedisCallerControlStore.ParsePolicy(RedisStorage.ToFields(parts[1])), (long)parts[2] == 1)
            : null;
    }

    public async ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(FindByIdAsync),
            db => db.HashGetAllAsync(Keys.Code(codeId)), cancellationToken).ConfigureAwait(false);
        var code = Parse(RedisStorage.ToFields(entries));
        return code is not null && code.OwnerId == ownerId ? code : null;
    }

    public IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) =>
        storage.ReadIndexAsync(nameof(ListByOwnerAsync), Keys.OwnerCodes(ownerId), double.PositiveInfinity, double.NegativeInfinity,
            Exclude.None, Order.Descending, int.MaxValue, id => Keys.Code(id), f => Parse(f) is { } c && c.OwnerId == ownerId ? c : null, cancellationToken);

    public async ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        var result = await storage.Connection.RunAsync(nameof(TryCountScanAsync),
            db => db.ScriptEvaluateAsync(CountScanScript, [Keys.CodeKey(keyHash)], [Keys.Prefix, RedisStorage.Ms(now)]), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    public async ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        RedisValue[] args = [Keys.Prefix, ownerId, RedisStorage.Ms(now), RedisStorage.Ms(storage.Options.CodeRetention), storage.NowMs, RedisStorage.FloorMs];
        var result = await storage.Connection.RunAsync(nameof(RevokeAsync),
            db => db.ScriptEvaluateAsync(RevokeScript, [Keys.Code(codeId), Keys.StaleCodes], args), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount <= 0)
        {
            return 0;
        }
        var result = await storage.Connection.RunAsync(nameof(DeleteStaleAsync),
            db => db.ScriptEvaluateAsync(DeleteStaleScript, [Keys.StaleCodes], [Keys.Prefix, RedisStorage.Ms(cutoff), maxCount]), cancellationToken).ConfigureAwait(false);
        var count = (int)(long)result;
        Log.Swept(storage.Logger, count, "codes");
        return count;
    }

    public async ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken)
    {
        RedisValue[] args =
        [
            ownerId, label ?? "", media is { } m ? ((int)m).ToString(CultureInfo.InvariantCulture) : RedisValue.EmptyString, label is null ? "0" : "1",
        ];
        var result = await storage.Connection.RunAsync(nameof(UpdateAsync),
            db => db.ScriptEvaluateAsync(UpdateScript, [Keys.Code(codeId)], args), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    public async ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync(nameof(DeleteAsync),
            db => db.ScriptEvaluateAsync(DeleteScript, [Keys.Code(codeId), Keys.StaleCodes], [Keys.Prefix, ownerId]), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken)
    {
        RedisValue[] args = [ownerId, pausedAt is { } at ? RedisStorage.Ms(at) : RedisValue.EmptyString];
        var result = await storage.Connection.RunAsync(nameof(SetPausedAsync),
            db => db.ScriptEvaluateAsync(PauseScript, [Keys.Code(codeId)], args), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : (a < b ? a : b);

    private static void AddField(List<RedisValue> args, string name, RedisValue value)
    {
        args.Add(name);
        args.Add(value);
    }

    private static CodeRecord? Parse(Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("id", out var id))
        {
            return null;
        }
        return new CodeRecord
        {
            Id = id,
            OwnerId = f["owner"],
            KeyHash = Convert.FromHexString(f["key"]),
            Label = f.GetValueOrDefault("label") ?? "",
            Media = (MediaKind)int.Parse(f["media"], CultureInfo.InvariantCulture),
            CreatedAt = RedisStorage.ParseTime(f["created"])!.Value,
            ExpiresAt = RedisStorage.ParseTime(f.GetValueOrDefault("exp")),
            MaxScans = RedisStorage.ParseInt(f.GetValueOrDefault("max")),
            ScanCount = RedisStorage.ParseInt(f.GetValueOrDefault("scans")) ?? 0,
            LastScannedAt = RedisStorage.ParseTime(f.GetValueOrDefault("last")),
            RevokedAt = RedisStorage.ParseTime(f.GetValueOrDefault("rev")),
            PausedAt = RedisStorage.ParseTime(f.GetValueOrDefault("paused")),
        };
    }
}
