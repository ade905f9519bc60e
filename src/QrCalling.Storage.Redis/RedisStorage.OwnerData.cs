using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

internal sealed partial class RedisStorage : IOwnerDataStore
{
    // ARGV: prefix, owner. Deletes the owner's calls (with call tokens, mailboxes and index entries), messages (with
    // their call markers), message key, push subscriptions, devices with pending pairings, and backups. Returns {calls,
    // messages, push subscriptions, devices, backup versions}.
    private const string EraseOwnerScript = RedisMailboxStore.MailboxKeysFunction + """

        local p, o = ARGV[1], ARGV[2]
        local nc, nm = 0, 0
        for _, id in ipairs(redis.call('ZRANGE', p .. 'owner-calls:' .. o, 0, -1)) do
          local k = p .. 'call:' .. id
          local f = redis.call('HMGET', k, 'owner', 'tok', 'code')
          if f[1] == o then
            redis.call('DEL', k)
            if f[2] then redis.call('DEL', p .. 'calltoken:' .. f[2]) end
            if f[3] then redis.call('ZREM', p .. 'code-calls:' .. f[3], id) end
            nc = nc + 1
          end
          redis.call('DEL', mailbox_keys(p, id))
          redis.call('ZREM', p .. 'calls-open', id)
          redis.call('ZREM', p .. 'calls-ended', id)
          redis.call('ZREM', p .. 'mbox-ended', id)
        end
        redis.call('DEL', p .. 'owner-calls:' .. o)
        for _, id in ipairs(redis.call('ZRANGE', p .. 'owner-msgs:' .. o, 0, -1)) do
          local k = p .. 'msg:' .. id
          local f = redis.call('HMGET', k, 'owner', 'call')
          if f[1] == o then
            redis.call('DEL', k)
            if f[2] then redis.call('DEL', p .. 'msgcall:' .. f[2]) end
            nm = nm + 1
          end
          redis.call('ZREM', p .. 'msgs-expiring', id)
        end
        redis.call('DEL', p .. 'owner-msgs:' .. o, p .. 'msgkey:' .. o)
        local np = redis.call('HLEN', p .. 'push-subs:' .. o)
        redis.call('DEL', p .. 'push-subs:' .. o)
        local nd, nb = 0, 0
        for _, id in ipairs(redis.call('ZRANGE', p .. 'owner-devs:' .. o, 0, -1)) do
          local f = redis.call('HMGET', p .. 'dev:' .. id, 'owner', 'tok')
          if f[1] == o then
            redis.call('DEL', p .. 'dev:' .. id, p .. 'devtok:' .. f[2])
            redis.call('ZREM', p .. 'devs-pending', id)
            nd = nd + 1
          end
        end
        redis.call('DEL', p .. 'owner-devs:' .. o)
        for _, h in ipairs(redis.call('SMEMBERS', p .. 'owner-dpairs:' .. o)) do
          redis.call('DEL', p .. 'dpair:' .. h)
          redis.call('ZREM', p .. 'dpairs-expiring', h)
        end
        redis.call('DEL', p .. 'owner-dpairs:' .. o)
        for _, v in ipairs(redis.call('ZRANGE', p .. 'bks:' .. o, 0, -1)) do
          nb = nb + redis.call('DEL', p .. 'bk:' .. v .. ':' .. o)
          redis.call('ZREM', p .. 'bks-expiring', v .. ':' .. o)
        end
        redis.call('DEL', p .. 'bks:' .. o, p .. 'bkhead:' .. o)
        return {nc, nm, np, nd, nb}
        """;

    /// <inheritdoc />
    public async ValueTask<OwnerDataErasure> EraseOwnerAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var delegates = await Delegates.EraseAccountAsync(ownerId, cancellationToken).ConfigureAwait(false);
        // Codes through the code store's own atomic delete (record, key hash and indexes), then the rest in one script.
        var codeIds = new List<string>();
        await foreach (var code in Codes.ListByOwnerAsync(ownerId, cancellationToken).ConfigureAwait(false))
        {
            codeIds.Add(code.Id);
        }
        var codes = 0;
        foreach (var codeId in codeIds)
        {
            codes += await Codes.DeleteAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false) ? 1 : 0;
        }
        var result = await Connection.RunAsync(nameof(EraseOwnerAsync),
            db => db.ScriptEvaluateAsync(EraseOwnerScript, [], [Keys.Prefix, ownerId]), cancellationToken).ConfigureAwait(false);
        var counts = (RedisResult[])result!;
        await Connection.RunAsync(nameof(EraseOwnerAsync), db => db.KeyDeleteAsync(Keys.OwnerCodes(ownerId)), cancellationToken).ConfigureAwait(false);
        return new OwnerDataErasure(codes, (int)counts[0], (int)counts[2], (int)counts[1]) { Devices = (int)counts[3], Backups = (int)counts[4], Delegates = delegates };
    }
}
