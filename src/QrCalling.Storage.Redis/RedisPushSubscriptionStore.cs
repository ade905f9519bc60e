using System.Globalization;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Push subscriptions on Redis: the hash <c>push-subs:{owner}</c> (field: endpoint, value: <c>createdAt-ms p256dh auth</c>), without a TTL; the cap is checked in the same Lua script as the write. The generated VAPID
/// key pair is the string <c>push-vapid</c>, written once with SET NX.</summary>
internal sealed class RedisPushSubscriptionStore(RedisStorage storage) : IPushSubscriptionStore
{
    // KEYS: push-subs:{owner}. ARGV: endpoint, "<createdAt ms> <p256dh> <auth>", max, "<p256dh> <auth>".
    // Returns 1 (updated: the creation time kept), 0 (added), 2 (limit reached).
    private const string SaveScript = """
        local old = redis.call('HGET', KEYS[1], ARGV[1])
        if old then
          redis.call('HSET', KEYS[1], ARGV[1], string.match(old, '^(%d+) ') .. ' ' .. ARGV[4])
          return 1
        end
        if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 2 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 0
        """;

    private RedisKey Subscriptions(string ownerId) => storage.Keys.Prefix + "push-subs:" + ownerId;

    private RedisKey Vapid => storage.Keys.Prefix + "push-vapid";

    public async ValueTask<PushSubscriptionSaveStatus> SaveAsync(PushSubscriptionRecord subscription, int maxPerOwner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var keys = subscription.P256dh + " " + subscription.Auth;
        var value = subscription.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) + " " + keys;
        var result = await storage.Connection.RunAsync("push subscription save",
            db => db.ScriptEvaluateAsync(SaveScript, [Subscriptions(subscription.OwnerId)],
                [subscription.Endpoint, value, maxPerOwner, keys]), cancellationToken).ConfigureAwait(false);
        return (int)result switch
        {
            0 => PushSubscriptionSaveStatus.Added,
            1 => PushSubscriptionSaveStatus.Updated,
            _ => PushSubscriptionSaveStatus.LimitReached,
        };
    }

    public async ValueTask<bool> DeleteAsync(string ownerId, string endpoint, CancellationToken cancellationToken) =>
        await storage.Connection.RunAsync("push subscription delete", db => db.HashDeleteAsync(Subscriptions(ownerId), endpoint), cancellationToken)
            .ConfigureAwait(false);

    public async IAsyncEnumerable<PushSubscriptionRecord> ListByOwnerAsync(string ownerId,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var entries = await storage.Connection.RunAsync("push subscription list", db => db.HashGetAllAsync(Subscriptions(ownerId)), cancellationToken)
            .ConfigureAwait(false);
        var list = new List<PushSubscriptionRecord>(entries.Length);
        foreach (var entry in entries)
        {
            var parts = ((string)entry.Value!).Split(' ');
            if (parts.Length != 3)
            {
                continue;
            }
            list.Add(new PushSubscriptionRecord
            {
                OwnerId = ownerId,
                Endpoint = entry.Name!,
                P256dh = parts[1],
                Auth = parts[2],
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[0], CultureInfo.InvariantCulture)),
            });
        }
        foreach (var subscription in list.OrderBy(s => s.CreatedAt).ThenBy(s => s.Endpoint, StringComparer.Ordinal))
        {
            yield return subscription;
        }
    }

    public async ValueTask<VapidKeyPair> GetOrAddVapidKeysAsync(VapidKeyPair candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var text = candidate.PublicKey + " " + candidate.PrivateKey;
        var stored = await storage.Connection.RunAsync("vapid keys", async db =>
        {
            await db.StringSetAsync(Vapid, text, when: When.NotExists).ConfigureAwait(false);
            return (string?)await db.StringGetAsync(Vapid).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        var parts = (stored ?? text).Split(' ');
        return parts.Length == 2
            ? new VapidKeyPair(parts[0], parts[1])
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The stored VAPID key pair is malformed ({parts.Length} parts)."));
    }
}
