using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Leave-a-message on Redis. An owner's key is the hash <c>msgkey:{owner}</c> (no TTL). A message is the hash
/// <c>msg:{id}</c> plus the marker <c>msgcall:{callId}</c> (one message per call), both with a TTL until the message
/// expires; <c>owner-msgs:{owner}</c> and <c>msgs-expiring</c> index ids by expiry. Adding is one Lua script, so "one per
/// call" and the per-owner cap are atomic.</summary>
internal sealed class RedisMessageStore(RedisStorage storage) : IMessageStore
{
    // KEYS: msgcall, owner-msgs, msg, msgs-expiring. ARGV: id, now ms, max, expires ms, ttl ms, fields…
    // Returns 0 added, 1 a message for this call exists, 2 the owner is at the cap.
    private const string AddScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
        if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 2 end
        if redis.call('EXISTS', KEYS[3]) == 1 then return redis.error_reply('message id exists') end
        redis.call('HSET', KEYS[3], unpack(ARGV, 6))
        redis.call('PEXPIRE', KEYS[3], ARGV[5])
        redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[5])
        redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
        local cur = redis.call('PTTL', KEYS[2])
        if cur < tonumber(ARGV[5]) then redis.call('PEXPIRE', KEYS[2], ARGV[5]) end
        redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
        return 0
        """;

    // KEYS: msg, msgs-expiring. ARGV: prefix, owner, id.
    private const string DeleteScript = """
        local f = redis.call('HMGET', KEYS[1], 'owner', 'call')
        if not f[1] or f[1] ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1], ARGV[1] .. 'msgcall:' .. f[2])
        redis.call('ZREM', ARGV[1] .. 'owner-msgs:' .. f[1], ARGV[3])
        redis.call('ZREM', KEYS[2], ARGV[3])
        return 1
        """;

    // KEYS: msgs-expiring. ARGV: prefix, now ms, max.
    private const string DeleteExpiredScript = """
        local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
        local n = 0
        for _, id in ipairs(ids) do
          local k = ARGV[1] .. 'msg:' .. id
          local f = redis.call('HMGET', k, 'owner', 'call')
          if f[1] then
            redis.call('DEL', k, ARGV[1] .. 'msgcall:' .. f[2])
            redis.call('ZREM', ARGV[1] .. 'owner-msgs:' .. f[1], id)
            n = n + 1
          end
          redis.call('ZREM', KEYS[1], id)
        end
        return n
        """;

    private RedisKey KeyOf(string ownerId) => storage.Keys.Prefix + "msgkey:" + ownerId;
    private RedisKey Message(string messageId) => storage.Keys.Prefix + "msg:" + messageId;
    private RedisKey CallMarker(string callId) => storage.Keys.Prefix + "msgcall:" + callId;
    private RedisKey OwnerMessages(string ownerId) => storage.Keys.Prefix + "owner-msgs:" + ownerId;
    private RedisKey Expiring => storage.Keys.Prefix + "msgs-expiring";

    public async ValueTask SetKeyAsync(OwnerMessageKey key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        HashEntry[] fields = [new("owner", key.OwnerId), new("pub", key.PublicKey), new("kid", key.KeyId), new("at", RedisStorage.Ms(key.UpdatedAt))];
        await storage.Connection.RunAsync(nameof(SetKeyAsync), async db =>
        {
            await db.HashSetAsync(KeyOf(key.OwnerId), fields).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<OwnerMessageKey?> GetKeyAsync(string ownerId, CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync(nameof(GetKeyAsync), db => db.HashGetAllAsync(KeyOf(ownerId)), cancellationToken).ConfigureAwait(false);
        var f = RedisStorage.ToFields(entries);
        return f is null || !f.TryGetValue("pub", out var pub)
            ? null
            : new OwnerMessageKey { OwnerId = f["owner"], PublicKey = pub, KeyId = f["kid"], UpdatedAt = RedisStorage.ParseTime(f["at"])!.Value };
    }

    public async ValueTask<MessageAddStatus> TryAddAsync(StoredMessage message, int maxPerOwner, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var args = new List<RedisValue>
        {
            message.MessageId, RedisStorage.Ms(now), maxPerOwner, RedisStorage.Ms(message.ExpiresAt), storage.TtlMs(message.ExpiresAt),
            "id", message.MessageId, "owner", message.OwnerId, "call", message.CallId, "code", message.CodeId, "label", message.Label,
            "kid", message.KeyId, "epk", message.EphemeralPublicKey, "iv", message.Iv, "ct", message.Ciphertext,
            "created", RedisStorage.Ms(message.CreatedAt), "exp", RedisStorage.Ms(message.ExpiresAt),
        };
        RedisKey[] keys = [CallMarker(message.CallId), OwnerMessages(message.OwnerId), Message(message.MessageId), Expiring];
        var result = await storage.Connection.RunAsync(nameof(TryAddAsync),
            db => db.ScriptEvaluateAsync(AddScript, keys, args.ToArray()), cancellationToken).ConfigureAwait(false);
        return (long)result switch
        {
            0 => MessageAddStatus.Added,
            1 => MessageAddStatus.Exists,
            _ => MessageAddStatus.OwnerFull,
        };
    }

    public async ValueTask<IReadOnlyList<StoredMessage>> ListByOwnerAsync(string ownerId, DateTimeOffset now, int limit, CancellationToken cancellationToken)
    {
        if (limit <= 0)
        {
            return [];
        }
        var list = new List<StoredMessage>();
        await foreach (var message in storage.ReadIndexAsync(nameof(ListByOwnerAsync), OwnerMessages(ownerId), double.PositiveInfinity,
            now.ToUnixTimeMilliseconds(), Exclude.Start, Order.Descending, int.MaxValue, Message,
            f => Parse(f) is { } m && m.OwnerId == ownerId && m.ExpiresAt > now ? m : null, cancellationToken).ConfigureAwait(false))
        {
            list.Add(message);
        }
        // The index is ordered by expiry; the list is newest first by creation.
        return [.. list.OrderByDescending(m => m.CreatedAt).ThenByDescending(m => m.MessageId, StringComparer.Ordinal).Take(limit)];
    }

    public async ValueTask<bool> DeleteAsync(string ownerId, string messageId, CancellationToken cancellationToken)
    {
        var result = await storage.Connection.RunAsync(nameof(DeleteAsync),
            db => db.ScriptEvaluateAsync(DeleteScript, [Message(messageId), Expiring], [storage.Keys.Prefix, ownerId, messageId]), cancellationToken)
            .ConfigureAwait(false);
        return (long)result == 1;
    }

    public async ValueTask<int> DeleteExpiredAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount <= 0)
        {
            return 0;
        }
        var result = await storage.Connection.RunAsync(nameof(DeleteExpiredAsync),
            db => db.ScriptEvaluateAsync(DeleteExpiredScript, [Expiring], [storage.Keys.Prefix, RedisStorage.Ms(now), maxCount]), cancellationToken)
            .ConfigureAwait(false);
        var count = (int)(long)result;
        Log.Swept(storage.Logger, count, "messages");
        return count;
    }

    private static StoredMessage? Parse(Dictionary<string, string>? f)
    {
        if (f is null || !f.TryGetValue("id", out var id))
        {
            return null;
        }
        return new StoredMessage
        {
            MessageId = id,
            OwnerId = f["owner"],
            CallId = f["call"],
            CodeId = f["code"],
            Label = f.GetValueOrDefault("label") ?? "",
            KeyId = f["kid"],
            EphemeralPublicKey = f["epk"],
            Iv = f["iv"],
            Ciphertext = f["ct"],
            CreatedAt = RedisStorage.ParseTime(f["created"])!.Value,
            ExpiresAt = RedisStorage.ParseTime(f["exp"])!.Value,
        };
    }
}
