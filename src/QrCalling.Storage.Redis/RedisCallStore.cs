using System.Globalization;
using QrCalling.Calls;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Calls on Redis. A call is the hash <c>call:{id}</c> plus the pointer <c>calltoken:{hex}</c>; both live until
/// expiresAt + CallRetention while open and endedAt + CallRetention once ended. Field <c>state</c> is the
/// <see cref="CallState"/> number ('0' Ringing, '1' Active, '2' Ended), which the mailbox's append script reads too.
/// Ending a call shortens its mailbox keys' TTLs to endedAt + MailboxRetention; deleting it deletes them.</summary>
internal sealed class RedisCallStore(RedisStorage storage) : ICallStore
{
    private const string Ended = "2";

    // Sets a TTL on an index key that never shortens it. ARGV of the caller supplies the ttl.
    private const string ExtendFunction = """
        local function extend(key, existed, ttl)
          local cur = redis.call('PTTL', key)
          if existed == 0 or (cur >= 0 and cur < ttl) then redis.call('PEXPIRE', key, ttl) end
        end
        """;

    // KEYS: call, calltoken, owner-calls, calls-open, code-calls, calls-ended, mbox-ended.
    // ARGV: id, createdAt ms, ttl ms, state, endedAt ms or '', fields…
    private const string CreateScript = ExtendFunction + """

        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        local ttl = tonumber(ARGV[3])
        redis.call('HSET', KEYS[1], unpack(ARGV, 6))
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('SET', KEYS[2], ARGV[1], 'PX', ttl)
        local existed = redis.call('EXISTS', KEYS[3])
        redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
        extend(KEYS[3], existed, ttl)
        if ARGV[4] == '2' then
          redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
          redis.call('ZADD', KEYS[7], ARGV[5], ARGV[1])
        else
          redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
          existed = redis.call('EXISTS', KEYS[5])
          redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
          extend(KEYS[5], existed, ttl)
        end
        return 1
        """;

    // KEYS: calltoken. ARGV: prefix.
    private const string FindByTokenScript = """
        local id = redis.call('GET', KEYS[1])
        if not id then return nil end
        return redis.call('HGETALL', ARGV[1] .. 'call:' .. id)
        """;

    // KEYS: call. ARGV: device, now ms.
    private const string AcceptScript = """
        if redis.call('HGET', KEYS[1], 'state') ~= '0' then return nil end
        redis.call('HSET', KEYS[1], 'state', '1', 'dev', ARGV[1], 'ans', ARGV[2])
        return redis.call('HGETALL', KEYS[1])
        """;

    // KEYS: call, calls-open, calls-ended, mbox-ended, then the mailbox keys (RedisKeys.MailboxKeys).
    // ARGV: prefix, id, expected state, reason, now ms, call ttl ms, mailbox ttl ms.
    private const string EndScript = """
        local f = redis.call('HMGET', KEYS[1], 'state', 'code', 'tok')
        if ARGV[3] == '2' or f[1] ~= ARGV[3] then return nil end
        """ + "\n" + EndChanges + "\n" + """
        return redis.call('HGETALL', KEYS[1])
        """;

    private const string EndChanges = """
        redis.call('HSET', KEYS[1], 'state', '2', 'reason', ARGV[4], 'ended', ARGV[5])
        redis.call('ZREM', KEYS[2], ARGV[2])
        redis.call('ZREM', ARGV[1] .. 'code-calls:' .. f[2], ARGV[2])
        redis.call('ZADD', KEYS[3], ARGV[5], ARGV[2])
        redis.call('ZADD', KEYS[4], ARGV[5], ARGV[2])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        redis.call('PEXPIRE', ARGV[1] .. 'calltoken:' .. f[3], ARGV[6])
        for i = 5, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
        """;

    // An accept, then its lifecycle entry (RedisMailboxStore.AppendFunction), in one script. KEYS: call, mbox-seq,
    // mbox-both, mbox-bytes. ARGV: device, now ms, then the append's arguments. Returns the call's fields and, as the
    // extra field '_early', the callee's unacknowledged bytes (what the caller parked before the accept).
    private const string AcceptWithEntryScript = RedisMailboxStore.AppendFunction + "\n" + """
        if redis.call('HGET', KEYS[1], 'state') ~= '0' then return nil end
        redis.call('HSET', KEYS[1], 'state', '1', 'dev', ARGV[1], 'ans', ARGV[2])
        append(KEYS, { unpack(ARGV, 3) })
        local fields = redis.call('HGETALL', KEYS[1])
        fields[#fields + 1] = '_early'
        fields[#fields + 1] = redis.call('HGET', KEYS[4], 'callee') or '0'
        return fields
        """;

    // EndScript, then its lifecycle entry, in one script: EndScript's KEYS and ARGV, then the append's arguments.
    private const string EndWithEntryScript = RedisMailboxStore.AppendFunction + "\n" + """
        local f = redis.call('HMGET', KEYS[1], 'state', 'code', 'tok')
        if ARGV[3] == '2' or f[1] ~= ARGV[3] then return nil end
        """ + "\n" + EndChanges + "\n" + """
        append({ KEYS[1], KEYS[5], KEYS[6], KEYS[9] }, { unpack(ARGV, 8) })
        return redis.call('HGETALL', KEYS[1])
        """;

    // KEYS: call. ARGV: field, value or ''.
    private const string PresenceScript = """
        local state = redis.call('HGET', KEYS[1], 'state')
        if not state or state == '2' then return 0 end
        if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
        return 1
        """;

    // KEYS: calls-ended, mbox-ended. ARGV: prefix, cutoff ms, max.
    private const string DeleteEndedScript = RedisMailboxStore.MailboxKeysFunction + """

        local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
        local n = 0
        for _, id in ipairs(ids) do
          local k = ARGV[1] .. 'call:' .. id
          local f = redis.call('HMGET', k, 'owner', 'tok')
          if f[1] then
            redis.call('DEL', k, ARGV[1] .. 'calltoken:' .. f[2])
            redis.call('ZREM', ARGV[1] .. 'owner-calls:' .. f[1], id)
            n = n + 1
          end
          redis.call('DEL', mailbox_keys(ARGV[1], id))
          redis.call('ZREM', KEYS[1], id)
          redis.call('ZREM', KEYS[2], id)
        end
        return n
        """;

    private RedisKeys Keys => storage.Keys;

    public async ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var deadline = (call.State == CallState.Ended && call.EndedAt is { } ended ? ended : call.ExpiresAt) + storage.Options.CallRetention;
        var args = new List<RedisValue>
        {
            call.CallId,
            RedisStorage.Ms(call.CreatedAt),
            storage.TtlMs(deadline),
            State(call.State),
            RedisStorage.Ms(call.EndedAt ?? call.CreatedAt),
        };
        void Add(string name, RedisValue value)
        {
            args.Add(name);
            args.Add(value);
        }
        Add("id", call.CallId);
        Add("code", call.CodeId);
        Add("owner", call.OwnerId);
        Add("caller", call.CallerId);
        Add("callee", call.CalleeId);
        Add("tok", Convert.ToHexStringLower(call.CallTokenHash));
        Add("label", call.Label);
        Add("media", (int)call.Media);
        Add("cmedia", (int)call.CodeMedia);
        Add("state", State(call.State));
        Add("created", RedisStorage.Ms(call.CreatedAt));
        Add("ring", RedisStorage.Ms(call.RingExpiresAt));
        Add("exp", RedisStorage.Ms(call.ExpiresAt));
        if (call.EndReason is { } reason) Add("reason", (int)reason);
        if (call.AnsweredAt is { } answered) Add("ans", RedisStorage.Ms(answered));
        if (call.EndedAt is { } endedAt) Add("ended", RedisStorage.Ms(endedAt));
        if (call.AcceptedDeviceId is { } device) Add("dev", device);
        if (call.CallerGoneSince is { } callerGone) Add("cgone", RedisStorage.Ms(callerGone));
        if (call.CalleeGoneSince is { } calleeGone) Add("egone", RedisStorage.Ms(calleeGone));
        if (call.DelegatesRung) Add("drung", "1");
        RedisKey[] keys =
        [
            Keys.Call(call.CallId), Keys.CallToken(call.CallTokenHash), Keys.OwnerCalls(call.OwnerId), Keys.OpenCalls,
            Keys.CodeOpenCalls(call.CodeId), Keys.EndedCalls, Keys.EndedMailboxes,
        ];
        var created = await storage.Connection.RunAsync(nameof(CreateAsync),
            db => db.ScriptEvaluateAsync(CreateScript, keys, args.ToArray()), cancellationToken).ConfigureAwait(false);
        if ((long)created != 1)
        {
            throw new InvalidOperationException("A call with this id or call token hash already exists.");
        }
    }

    public async ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(GetAsync), db => db.HashGetAllAsync(Keys.Call(callId)), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(entries));
    }

    public async ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callTokenHash);
        var result = await storage.Connection.RunAsync(nameof(FindByTokenHashAsync),
            db => db.ScriptEvaluateAsync(FindByTokenScript, [Keys.CallToken(callTokenHash)], [Keys.Prefix]), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    public async ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync(nameof(TryAcceptAsync),
            db => db.ScriptEvaluateAsync(AcceptScript, [Keys.Call(callId)], [deviceId, RedisStorage.Ms(now)]), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    /// <summary><see cref="IStorage.TryAcceptCallAsync"/> in one script.</summary>
    public async ValueTask<CallAcceptance?> TryAcceptWithEntryAsync(string callId, string deviceId, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var (appendKeys, appendArgs) = Mailbox.AppendArguments(callId, lifecycle with { To = null }, default);
        RedisValue[] args = [deviceId, RedisStorage.Ms(now), .. appendArgs];
        var result = await storage.Connection.RunAsync(nameof(IStorage.TryAcceptCallAsync),
            db => db.ScriptEvaluateAsync(AcceptWithEntryScript, [.. appendKeys], args), cancellationToken).ConfigureAwait(false);
        var fields = RedisStorage.ToFields(result);
        return Parse(fields) is { } call ? new CallAcceptance(call, MayHaveEarlyEntries: fields!["_early"] != "0") : null;
    }

    /// <summary><see cref="IStorage.TryEndCallAsync"/> in one script.</summary>
    public async ValueTask<CallRecord?> TryEndWithEntryAsync(string callId, CallState expectedState, CallEndReason reason, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (expectedState == CallState.Ended)
        {
            return null;
        }
        var (keys, args) = EndArguments(callId, expectedState, reason, now);
        var (_, appendArgs) = Mailbox.AppendArguments(callId, lifecycle with { To = null }, default);
        var result = await storage.Connection.RunAsync(nameof(IStorage.TryEndCallAsync),
            db => db.ScriptEvaluateAsync(EndWithEntryScript, keys, [.. args, .. appendArgs]), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    private RedisMailboxStore Mailbox => (RedisMailboxStore)storage.Mailbox;

    public async ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (expectedState == CallState.Ended)
        {
            return null;
        }
        var (keys, args) = EndArguments(callId, expectedState, reason, now);
        var result = await storage.Connection.RunAsync(nameof(TryEndAsync),
            db => db.ScriptEvaluateAsync(EndScript, keys, args), cancellationToken).ConfigureAwait(false);
        return Parse(RedisStorage.ToFields(result));
    }

    private (RedisKey[] Keys, RedisValue[] Args) EndArguments(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now) =>
    (
        [Keys.Call(callId), Keys.OpenCalls, Keys.EndedCalls, Keys.EndedMailboxes, .. Keys.MailboxKeys(callId)],
        [
            Keys.Prefix, callId, State(expectedState), (int)reason, RedisStorage.Ms(now),
            storage.TtlMs(now + storage.Options.CallRetention), storage.TtlMs(now + storage.Options.MailboxRetention),
        ]
    );

    public async ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken)
    {
        RedisValue[] args = [side == CallSide.Caller ? "cgone" : "egone", RedisStorage.Ms(goneSince)];
        await storage.Connection.RunAsync(nameof(SetPresenceAsync),
            db => db.ScriptEvaluateAsync(PresenceScript, [Keys.Call(callId)], args), cancellationToken).ConfigureAwait(false);
    }

    public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) =>
        storage.ReadIndexAsync(nameof(ListByOwnerAsync), Keys.OwnerCalls(ownerId),
            before is { } b ? b.ToUnixTimeMilliseconds() : double.PositiveInfinity, double.NegativeInfinity,
            before is null ? Exclude.None : Exclude.Stop, Order.Descending, Math.Max(limit, 0),
            id => Keys.Call(id), f => Parse(f) is { } c && c.OwnerId == ownerId ? c : null, cancellationToken);

    public async IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The open-calls index is scored by creation time; the contract wants the most urgent first (NextDeadline),
        // which changes on accept and presence, so the open set is read whole and ordered here.
        var open = new List<CallRecord>();
        await foreach (var call in storage.ReadIndexAsync(nameof(ListOpenAsync), Keys.OpenCalls, double.PositiveInfinity, double.NegativeInfinity,
            Exclude.None, Order.Ascending, int.MaxValue, id => Keys.Call(id), OpenOnly, cancellationToken).ConfigureAwait(false))
        {
            open.Add(call);
        }
        foreach (var call in open.OrderBy(c => c.NextDeadline).ThenBy(c => c.CallId, StringComparer.Ordinal).Take(Math.Max(maxCount, 0)))
        {
            yield return call;
        }
    }

    public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) =>
        storage.ReadIndexAsync(nameof(ListOpenByCodeAsync), Keys.CodeOpenCalls(codeId), double.PositiveInfinity, double.NegativeInfinity,
            Exclude.None, Order.Ascending, Math.Max(maxCount, 0), id => Keys.Call(id), OpenOnly, cancellationToken);

    public async ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount <= 0)
        {
            return 0;
        }
        var result = await storage.Connection.RunAsync(nameof(DeleteEndedBeforeAsync),
            db => db.ScriptEvaluateAsync(DeleteEndedScript, [Keys.EndedCalls, Keys.EndedMailboxes], [Keys.Prefix, RedisStorage.Ms(cutoff), maxCount]),
            cancellationToken).ConfigureAwait(false);
        var count = (int)(long)result;
        Log.Swept(storage.Logger, count, "calls");
        return count;
    }

    private static CallRecord? OpenOnly(Dictionary<string, string> fields) => Parse(fields) is { State: not CallState.Ended } call ? call : null;

    private static string State(CallState state) => ((int)state).ToString(CultureInfo.InvariantCulture);

    private static CallRecord? Parse(Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("id", out var id))
        {
            return null;
        }
        return new CallRecord
        {
            CallId = id,
            CodeId = f["code"],
            OwnerId = f["owner"],
            CallerId = f["caller"],
            CalleeId = f["callee"],
            CallTokenHash = Convert.FromHexString(f["tok"]),
            Label = f.GetValueOrDefault("label") ?? "",
            Media = (MediaKind)int.Parse(f["media"], CultureInfo.InvariantCulture),
            State = (CallState)int.Parse(f["state"], CultureInfo.InvariantCulture),
            EndReason = RedisStorage.ParseInt(f.GetValueOrDefault("reason")) is { } r ? (CallEndReason)r : null,
            CreatedAt = RedisStorage.ParseTime(f["created"])!.Value,
            RingExpiresAt = RedisStorage.ParseTime(f["ring"])!.Value,
            ExpiresAt = RedisStorage.ParseTime(f["exp"])!.Value,
            AnsweredAt = RedisStorage.ParseTime(f.GetValueOrDefault("ans")),
            EndedAt = RedisStorage.ParseTime(f.GetValueOrDefault("ended")),
            AcceptedDeviceId = f.GetValueOrDefault("dev"),
            CallerGoneSince = RedisStorage.ParseTime(f.GetValueOrDefault("cgone")),
            CalleeGoneSince = RedisStorage.ParseTime(f.GetValueOrDefault("egone")),
            CodeMedia = RedisStorage.ParseInt(f.GetValueOrDefault("cmedia")) is { } codeMedia ? (MediaKind)codeMedia : MediaKinds.All,
            DelegatesRung = f.ContainsKey("drung"),
        };
    }
}
