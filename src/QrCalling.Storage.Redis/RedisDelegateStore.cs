using System.Globalization;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Delegates on Redis: invitations as hashes <c>dinv:{hex of secret hash}</c> (owner, code, ring, exp; with a
/// TTL) listed by expiry in <c>dinvs-expiring</c> and per owner in <c>owner-dinvs:{owner}</c>; delegates as hashes
/// <c>dlg:{id}</c> (code, owner, acct, ring, created) indexed by <c>code-dlgs:{code}</c> and <c>acct-dlgs:{account}</c>
/// (sorted by creation) and <c>owner-dlgs:{owner}</c>; ring marks as hashes <c>dring:{call}</c> (delegate id → account,
/// with a TTL) listed by expiry in <c>drings-expiring</c>; a new mark also sets field <c>drung</c> of the call's hash.
/// Every write that checks something is one Lua script.</summary>
internal sealed class RedisDelegateStore(RedisStorage storage) : IDelegateStore
{
    // KEYS: dinv. ARGV: prefix, account, new delegate id, now ms, max, secret hex.
    // Returns {-1} unavailable, {-2} own invitation, {0} cap, {1, id} accepted (new or existing).
    private const string AcceptScript = """
        local p = ARGV[1]
        local inv = redis.call('HMGET', KEYS[1], 'owner', 'code', 'ring', 'exp')
        if not inv[1] or tonumber(inv[4]) <= tonumber(ARGV[4]) then return {-1} end
        if inv[1] == ARGV[2] then return {-2} end
        local cd = p .. 'code-dlgs:' .. inv[2]
        local ids = redis.call('ZRANGE', cd, 0, -1)
        local found = nil
        for _, id in ipairs(ids) do
          if redis.call('HGET', p .. 'dlg:' .. id, 'acct') == ARGV[2] then found = id end
        end
        if not found then
          if #ids >= tonumber(ARGV[5]) then return {0} end
          found = ARGV[3]
          redis.call('HSET', p .. 'dlg:' .. found, 'code', inv[2], 'owner', inv[1], 'acct', ARGV[2], 'ring', inv[3], 'created', ARGV[4])
          redis.call('ZADD', cd, ARGV[4], found)
          redis.call('ZADD', p .. 'acct-dlgs:' .. ARGV[2], ARGV[4], found)
          redis.call('SADD', p .. 'owner-dlgs:' .. inv[1], found)
        end
        redis.call('DEL', KEYS[1])
        redis.call('ZREM', p .. 'dinvs-expiring', ARGV[6])
        redis.call('SREM', p .. 'owner-dinvs:' .. inv[1], ARGV[6])
        return {1, found}
        """;

    // ARGV: prefix, delegate id. Deletes one delegate with its index entries; 1 if it existed.
    private const string DeleteOneLua = """
        local function deleteOne(p, id)
          local f = redis.call('HMGET', p .. 'dlg:' .. id, 'code', 'owner', 'acct')
          if not f[1] then return 0 end
          redis.call('DEL', p .. 'dlg:' .. id)
          redis.call('ZREM', p .. 'code-dlgs:' .. f[1], id)
          redis.call('ZREM', p .. 'acct-dlgs:' .. f[3], id)
          redis.call('SREM', p .. 'owner-dlgs:' .. f[2], id)
          return 1
        end
        """;

    // ARGV: prefix, id, account.
    private const string DeleteScript = DeleteOneLua + "\n" + """
        local f = redis.call('HMGET', ARGV[1] .. 'dlg:' .. ARGV[2], 'owner', 'acct')
        if not f[1] or (f[1] ~= ARGV[3] and f[2] ~= ARGV[3]) then return 0 end
        return deleteOne(ARGV[1], ARGV[2])
        """;

    // ARGV: prefix, code.
    private const string DeleteByCodeScript = DeleteOneLua + "\n" + """
        local n = 0
        for _, id in ipairs(redis.call('ZRANGE', ARGV[1] .. 'code-dlgs:' .. ARGV[2], 0, -1)) do n = n + deleteOne(ARGV[1], id) end
        redis.call('DEL', ARGV[1] .. 'code-dlgs:' .. ARGV[2])
        return n
        """;

    // ARGV: prefix, account.
    private const string EraseScript = DeleteOneLua + "\n" + """
        local p = ARGV[1]
        local n = 0
        for _, id in ipairs(redis.call('SMEMBERS', p .. 'owner-dlgs:' .. ARGV[2])) do n = n + deleteOne(p, id) end
        for _, id in ipairs(redis.call('ZRANGE', p .. 'acct-dlgs:' .. ARGV[2], 0, -1)) do n = n + deleteOne(p, id) end
        redis.call('DEL', p .. 'owner-dlgs:' .. ARGV[2], p .. 'acct-dlgs:' .. ARGV[2])
        for _, h in ipairs(redis.call('SMEMBERS', p .. 'owner-dinvs:' .. ARGV[2])) do
          redis.call('DEL', p .. 'dinv:' .. h)
          redis.call('ZREM', p .. 'dinvs-expiring', h)
        end
        redis.call('DEL', p .. 'owner-dinvs:' .. ARGV[2])
        return n
        """;

    // KEYS: dinvs-expiring. ARGV: prefix, now ms, max.
    private const string SweepInvitationsScript = """
        local n = 0
        for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
          local owner = redis.call('HGET', ARGV[1] .. 'dinv:' .. h, 'owner')
          if owner then redis.call('SREM', ARGV[1] .. 'owner-dinvs:' .. owner, h) end
          n = n + redis.call('DEL', ARGV[1] .. 'dinv:' .. h)
          redis.call('ZREM', KEYS[1], h)
        end
        return n
        """;

    // KEYS: dring, drings-expiring, call. ARGV: delegate id, account, expires ms, ttl ms, call id. A new mark also sets
    // the call hash's 'drung' (CallRecord.DelegatesRung), in the same script as every accept and end of the call.
    private const string MarkScript = """
        if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[5])
        if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'drung', '1') end
        return 1
        """;

    // KEYS: drings-expiring. ARGV: prefix, now ms, max.
    private const string SweepRingsScript = """
        local n = 0
        for _, c in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
          n = n + redis.call('HLEN', ARGV[1] .. 'dring:' .. c)
          redis.call('DEL', ARGV[1] .. 'dring:' .. c)
          redis.call('ZREM', KEYS[1], c)
        end
        return n
        """;

    private string Prefix => storage.Keys.Prefix;
    private RedisKey Invitation(byte[] hash) => Prefix + "dinv:" + Convert.ToHexStringLower(hash);
    private RedisKey ExpiringInvitations => Prefix + "dinvs-expiring";
    private RedisKey OwnerInvitations(string owner) => Prefix + "owner-dinvs:" + owner;
    private RedisKey Delegate(string id) => Prefix + "dlg:" + id;
    private RedisKey CodeDelegates(string code) => Prefix + "code-dlgs:" + code;
    private RedisKey AccountDelegates(string account) => Prefix + "acct-dlgs:" + account;
    private RedisKey Ring(string callId) => Prefix + "dring:" + callId;
    private RedisKey ExpiringRings => Prefix + "drings-expiring";

    public async ValueTask CreateInvitationAsync(DelegateInvitation invitation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        var ttl = TimeSpan.FromMilliseconds(storage.TtlMs(invitation.ExpiresAt));
        var hex = Convert.ToHexStringLower(invitation.SecretHash);
        await storage.Connection.RunAsync("delegate invitation create", async db =>
        {
            var tx = db.CreateTransaction();
            _ = tx.HashSetAsync(Invitation(invitation.SecretHash),
            [
                new("owner", invitation.OwnerId), new("code", invitation.CodeId),
                new("ring", (long)invitation.RingAfter.TotalMilliseconds), new("exp", RedisStorage.Ms(invitation.ExpiresAt)),
            ]);
            _ = tx.KeyExpireAsync(Invitation(invitation.SecretHash), ttl);
            _ = tx.SetAddAsync(OwnerInvitations(invitation.OwnerId), hex);
            _ = tx.SortedSetAddAsync(ExpiringInvitations, hex, invitation.ExpiresAt.ToUnixTimeMilliseconds());
            return await tx.ExecuteAsync().ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DelegateAcceptResult> AcceptInvitationAsync(byte[] secretHash, string accountId, string delegateId, DateTimeOffset now,
        int maxPerCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(accountId);
        var result = (RedisResult[])(await storage.Connection.RunAsync("delegate accept", db => db.ScriptEvaluateAsync(AcceptScript, [Invitation(secretHash)],
            [Prefix, accountId, delegateId, RedisStorage.Ms(now), maxPerCode, Convert.ToHexStringLower(secretHash)]), cancellationToken).ConfigureAwait(false))!;
        switch ((int)result[0])
        {
            case 1:
                var record = await GetAsync((string)result[1]!, cancellationToken).ConfigureAwait(false);
                return record is null
                    ? new DelegateAcceptResult(DelegateAcceptStatus.InvitationUnavailable, null) // deleted at once (code deleted)
                    : new DelegateAcceptResult(DelegateAcceptStatus.Accepted, record);
            case 0:
                return new DelegateAcceptResult(DelegateAcceptStatus.QuotaExceeded, null);
            case -2:
                return new DelegateAcceptResult(DelegateAcceptStatus.OwnInvitation, null);
            default:
                return new DelegateAcceptResult(DelegateAcceptStatus.InvitationUnavailable, null);
        }
    }

    public async ValueTask<int> DeleteExpiredInvitationsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        (int)await storage.Connection.RunAsync("delegate invitation sweep", db => db.ScriptEvaluateAsync(SweepInvitationsScript, [ExpiringInvitations],
            [Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken).ConfigureAwait(false);

    public async ValueTask<DelegateRecord?> GetAsync(string delegateId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delegateId);
        var fields = await storage.Connection.RunAsync("delegate get", db => db.HashGetAllAsync(Delegate(delegateId)), cancellationToken).ConfigureAwait(false);
        return Parse(delegateId, RedisStorage.ToFields(fields));
    }

    public ValueTask<IReadOnlyList<DelegateRecord>> ListByCodeAsync(string codeId, CancellationToken cancellationToken) =>
        ListAsync(CodeDelegates(codeId), d => d.CodeId == codeId, cancellationToken);

    public ValueTask<IReadOnlyList<DelegateRecord>> ListByDelegateAsync(string delegateOwnerId, CancellationToken cancellationToken) =>
        ListAsync(AccountDelegates(delegateOwnerId), d => d.DelegateOwnerId == delegateOwnerId, cancellationToken);

    private async ValueTask<IReadOnlyList<DelegateRecord>> ListAsync(RedisKey index, Func<DelegateRecord, bool> belongs, CancellationToken cancellationToken) =>
        await storage.Connection.RunAsync("delegate list", async db =>
        {
            var ids = await db.SortedSetRangeByRankAsync(index).ConfigureAwait(false);
            var hashes = await Task.WhenAll(ids.Select(id => db.HashGetAllAsync(Delegate(id!)))).ConfigureAwait(false);
            var list = new List<DelegateRecord>(ids.Length);
            for (var i = 0; i < ids.Length; i++)
            {
                if (Parse(ids[i]!, RedisStorage.ToFields(hashes[i])) is { } record && belongs(record))
                {
                    list.Add(record);
                }
            }
            return (IReadOnlyList<DelegateRecord>)[.. list.OrderBy(d => d.CreatedAt).ThenBy(d => d.DelegateId, StringComparer.Ordinal)];
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string delegateId, string accountId, CancellationToken cancellationToken) =>
        (int)await storage.Connection.RunAsync("delegate delete", db => db.ScriptEvaluateAsync(DeleteScript, [], [Prefix, delegateId, accountId]),
            cancellationToken).ConfigureAwait(false) == 1;

    public async ValueTask<int> DeleteByCodeAsync(string codeId, CancellationToken cancellationToken) =>
        (int)await storage.Connection.RunAsync("delegate delete", db => db.ScriptEvaluateAsync(DeleteByCodeScript, [], [Prefix, codeId]),
            cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> EraseAccountAsync(string accountId, CancellationToken cancellationToken) =>
        (int)await storage.Connection.RunAsync("delegate erase", db => db.ScriptEvaluateAsync(EraseScript, [], [Prefix, accountId]),
            cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> TryMarkRungAsync(DelegateRing ring, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ring);
        return (int)await storage.Connection.RunAsync("delegate ring mark", db => db.ScriptEvaluateAsync(MarkScript, [Ring(ring.CallId), ExpiringRings, storage.Keys.Call(ring.CallId)],
            [ring.DelegateId, ring.DelegateOwnerId, RedisStorage.Ms(expiresAt), storage.TtlMs(expiresAt), ring.CallId]), cancellationToken).ConfigureAwait(false) == 1;
    }

    public async ValueTask<IReadOnlyList<DelegateRing>> ListRungAsync(string callId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync("delegate rings", db => db.HashGetAllAsync(Ring(callId)), cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(e => new DelegateRing(callId, (string)e.Name!, (string)e.Value!)).OrderBy(r => r.DelegateId, StringComparer.Ordinal)];
    }

    public async ValueTask<int> DeleteExpiredRingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        (int)await storage.Connection.RunAsync("delegate ring sweep", db => db.ScriptEvaluateAsync(SweepRingsScript, [ExpiringRings],
            [Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken).ConfigureAwait(false);

    private static DelegateRecord? Parse(string id, Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("code", out var code))
        {
            return null;
        }
        return new DelegateRecord
        {
            DelegateId = id,
            CodeId = code,
            OwnerId = f["owner"],
            DelegateOwnerId = f["acct"],
            RingAfter = TimeSpan.FromMilliseconds(long.Parse(f["ring"], CultureInfo.InvariantCulture)),
            CreatedAt = RedisStorage.ParseTime(f["created"])!.Value,
        };
    }
}
