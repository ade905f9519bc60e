using System.Globalization;
using QrCalling.Codes;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Caller controls on Redis. A code's policy is the hash <c>cpolicy:{code}</c>; its blocks the hash
/// <c>cblocks:{code}</c> (field <c>p:&lt;pseudonym hex&gt;</c> → <c>blockId|createdMs</c>, and <c>b:&lt;blockId&gt;</c> →
/// pseudonym hex); a call's caller the hash <c>ccaller:{call}</c> (with a TTL until it expires), indexed by
/// <c>ccallers:{code}</c> and <c>ccallers-expiring</c>. Every write is one Lua script that first checks that the code
/// exists, and the code store's delete scripts delete all of these keys with the code
/// (<see cref="DropControlsLua"/>), so nothing outlives its code.</summary>
internal sealed class RedisCallerControlStore(RedisStorage storage) : ICallerControlStore
{
    /// <summary>A Lua function, prepended to the code store's delete scripts: <c>drop_controls(prefix, codeId)</c>
    /// deletes every caller-control key of a code.</summary>
    internal const string DropControlsLua = """
        local function drop_controls(prefix, id)
          redis.call('DEL', prefix .. 'cpolicy:' .. id, prefix .. 'cblocks:' .. id)
          local cs = prefix .. 'ccallers:' .. id
          for _, c in ipairs(redis.call('SMEMBERS', cs)) do
            redis.call('DEL', prefix .. 'ccaller:' .. c)
            redis.call('ZREM', prefix .. 'ccallers-expiring', c)
          end
          redis.call('DEL', cs)
        end
        """;

    // KEYS: code, cpolicy. ARGV: '1' to delete, then field/value pairs.
    private const string SetPolicyScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('DEL', KEYS[2])
        if ARGV[1] ~= '1' then redis.call('HSET', KEYS[2], unpack(ARGV, 2)) end
        return 1
        """;

    // KEYS: cpolicy, cblocks. ARGV: 'p:<hex>' fields to look for.
    private const string AdmissionScript = """
        local blocked = 0
        for i = 1, #ARGV do
          if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then blocked = 1 end
        end
        return {blocked, redis.call('HGETALL', KEYS[1])}
        """;

    // KEYS: code, cblocks. ARGV: p field, b field, blockId|createdMs, pseudonym hex.
    private const string BlockScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return false end
        local existing = redis.call('HGET', KEYS[2], ARGV[1])
        if existing then return existing end
        redis.call('HSET', KEYS[2], ARGV[1], ARGV[3], ARGV[2], ARGV[4])
        return ARGV[3]
        """;

    // KEYS: cblocks. ARGV: b field.
    private const string UnblockScript = """
        local hex = redis.call('HGET', KEYS[1], ARGV[1])
        if not hex then return 0 end
        redis.call('HDEL', KEYS[1], ARGV[1], 'p:' .. hex)
        return 1
        """;

    // KEYS: code, ccaller, ccallers, ccallers-expiring. ARGV: callId, code, pseudonym hex, exp ms, ttl ms.
    private const string RecordCallerScript = """
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[2], 'call', ARGV[1], 'code', ARGV[2], 'p', ARGV[3], 'exp', ARGV[4])
        redis.call('PEXPIRE', KEYS[2], ARGV[5])
        redis.call('SADD', KEYS[3], ARGV[1])
        redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
        return 1
        """;

    // KEYS: ccallers-expiring. ARGV: prefix, now ms, max.
    private const string SweepScript = """
        local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
        for _, id in ipairs(ids) do
          local k = ARGV[1] .. 'ccaller:' .. id
          local code = redis.call('HGET', k, 'code')
          if code then redis.call('SREM', ARGV[1] .. 'ccallers:' .. code, id) end
          redis.call('DEL', k)
          redis.call('ZREM', KEYS[1], id)
        end
        return #ids
        """;

    private string Prefix => storage.Keys.Prefix;
    private RedisKey Policy(string codeId) => Prefix + "cpolicy:" + codeId;
    private RedisKey Blocks(string codeId) => Prefix + "cblocks:" + codeId;
    private RedisKey Caller(string callId) => Prefix + "ccaller:" + callId;
    private RedisKey CodeCallers(string codeId) => Prefix + "ccallers:" + codeId;
    private RedisKey CallersExpiring => Prefix + "ccallers-expiring";

    public async ValueTask<CallPolicy> GetPolicyAsync(string codeId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(GetPolicyAsync),
            db => db.HashGetAllAsync(Policy(codeId)), cancellationToken).ConfigureAwait(false);
        return ParsePolicy(RedisStorage.ToFields(entries));
    }

    public async ValueTask<bool> SetPolicyAsync(string codeId, CallPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var args = new List<RedisValue> { policy.IsEmpty ? "1" : "0", "chat", policy.ChatOnly ? "1" : "0" };
        if (policy.QuietHours is { } q)
        {
            args.AddRange(["qs", Minutes(q.Start), "qe", Minutes(q.End), "qd", (int)q.Days, "tz", q.TimeZone]);
        }
        var result = await storage.Connection.RunAsync(nameof(SetPolicyAsync),
            db => db.ScriptEvaluateAsync(SetPolicyScript, [storage.Keys.Code(codeId), Policy(codeId)], [.. args]), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<CallerAdmission> GetAdmissionAsync(string codeId, IReadOnlyList<byte[]> pseudonyms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pseudonyms);
        RedisValue[] fields = [.. pseudonyms.Select(p => (RedisValue)("p:" + Convert.ToHexStringLower(p)))];
        var result = await storage.Connection.RunAsync(nameof(GetAdmissionAsync),
            db => db.ScriptEvaluateAsync(AdmissionScript, [Policy(codeId), Blocks(codeId)], fields), cancellationToken).ConfigureAwait(false);
        var parts = (RedisResult[])result!;
        return new CallerAdmission(ParsePolicy(RedisStorage.ToFields(parts[1])), (long)parts[0] == 1);
    }

    public async ValueTask<CallerBlock?> BlockAsync(CallerBlock block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        var hex = Convert.ToHexStringLower(block.Pseudonym);
        RedisValue[] args = ["p:" + hex, "b:" + block.BlockId, block.BlockId + "|" + block.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), hex];
        var result = await storage.Connection.RunAsync(nameof(BlockAsync),
            db => db.ScriptEvaluateAsync(BlockScript, [storage.Keys.Code(block.CodeId), Blocks(block.CodeId)], args), cancellationToken).ConfigureAwait(false);
        if (result.IsNull)
        {
            return null;
        }
        var (id, created) = ParseBlockValue((string)result!);
        return new CallerBlock { BlockId = id, CodeId = block.CodeId, Pseudonym = (byte[])block.Pseudonym.Clone(), CreatedAt = created };
    }

    public async ValueTask<IReadOnlyList<CallerBlock>> ListBlocksAsync(string codeId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(ListBlocksAsync),
            db => db.HashGetAllAsync(Blocks(codeId)), cancellationToken).ConfigureAwait(false);
        var blocks = new List<CallerBlock>();
        foreach (var entry in entries)
        {
            var name = (string)entry.Name!;
            if (!name.StartsWith("p:", StringComparison.Ordinal))
            {
                continue;
            }
            var (id, created) = ParseBlockValue((string)entry.Value!);
            blocks.Add(new CallerBlock { BlockId = id, CodeId = codeId, Pseudonym = Convert.FromHexString(name.AsSpan(2)), CreatedAt = created });
        }
        return [.. blocks.OrderByDescending(b => b.CreatedAt).ThenByDescending(b => b.BlockId, StringComparer.Ordinal)];
    }

    public async ValueTask<bool> UnblockAsync(string codeId, string blockId, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync(nameof(UnblockAsync),
            db => db.ScriptEvaluateAsync(UnblockScript, [Blocks(codeId)], ["b:" + blockId]), cancellationToken).ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask RecordCallerAsync(CallCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        RedisValue[] args =
        [
            caller.CallId, caller.CodeId, Convert.ToHexStringLower(caller.Pseudonym), RedisStorage.Ms(caller.ExpiresAt), storage.TtlMs(caller.ExpiresAt),
        ];
        await storage.Connection.RunAsync(nameof(RecordCallerAsync),
            db => db.ScriptEvaluateAsync(RecordCallerScript,
                [storage.Keys.Code(caller.CodeId), Caller(caller.CallId), CodeCallers(caller.CodeId), CallersExpiring], args),
            cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<CallCaller?> FindCallerAsync(string callId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(FindCallerAsync),
            db => db.HashGetAllAsync(Caller(callId)), cancellationToken).ConfigureAwait(false);
        var f = RedisStorage.ToFields(entries);
        if (f is null || !f.TryGetValue("call", out var id))
        {
            return null;
        }
        return new CallCaller
        {
            CallId = id,
            CodeId = f["code"],
            Pseudonym = Convert.FromHexString(f["p"]),
            ExpiresAt = RedisStorage.ParseTime(f["exp"])!.Value,
        };
    }

    public async ValueTask<int> DeleteExpiredCallersAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync(nameof(DeleteExpiredCallersAsync),
            db => db.ScriptEvaluateAsync(SweepScript, [CallersExpiring], [Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken).ConfigureAwait(false);
        return (int)(long)result;
    }

    private static (string Id, DateTimeOffset Created) ParseBlockValue(string value)
    {
        var bar = value.IndexOf('|', StringComparison.Ordinal);
        return (value[..bar], RedisStorage.ParseTime(value[(bar + 1)..])!.Value);
    }

    internal static CallPolicy ParsePolicy(Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("chat", out var chat))
        {
            return CallPolicy.None;
        }
        return new CallPolicy
        {
            ChatOnly = chat == "1",
            QuietHours = f.TryGetValue("qs", out var qs) ? new QuietHours
            {
                Start = FromMinutes(qs),
                End = FromMinutes(f["qe"]),
                Days = (QuietDays)int.Parse(f["qd"], CultureInfo.InvariantCulture),
                TimeZone = f["tz"],
            } : null,
        };
    }

    private static int Minutes(TimeOnly time) => time.Hour * 60 + time.Minute;

    private static TimeOnly FromMinutes(string text) =>
        TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(int.Parse(text, CultureInfo.InvariantCulture)));
}
