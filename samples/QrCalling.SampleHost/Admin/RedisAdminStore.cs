using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace QrCalling.SampleHost.Admin;

/// <summary>The admin data in Redis (prefix <c>qrcalling-sample:</c> by default): the settings as one JSON string
/// <c>admin:settings</c>; feedback as the list <c>admin:feedback</c> (newest first, trimmed); the waitlist as the hash
/// <c>admin:waitlist</c> (id → JSON) with the hash <c>admin:waitlist-emails</c> (lower-case address → id) and the
/// sorted set <c>admin:waitlist-at</c> (id by time, for the sweep); the analytics as the hash <c>admin:analytics</c>
/// (<c>hour|metric|outcome</c> → count). Every change that must be atomic is one command or one Lua script. A Redis that
/// is down surfaces as <see cref="StorageUnavailableException"/>.</summary>
public sealed class RedisAdminStore(string configuration, string prefix = "qrcalling-sample:") : IAdminStore, IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(FailFastOptions(configuration)));

    // KEYS: feedback list. ARGV: id (unused), json, keep.
    private const string AddFeedbackScript = """
        redis.call('LPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
        return 1
        """;

    // KEYS: feedback list. ARGV: the id as it appears in the JSON ("id":"...").
    private const string DeleteFeedbackScript = """
        for _, v in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
          if string.find(v, ARGV[1], 1, true) then redis.call('LREM', KEYS[1], 1, v) return 1 end
        end
        return 0
        """;

    // KEYS: waitlist, emails, at. ARGV: id, email key, json, at ms.
    private const string AddWaitlistScript = """
        if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
        return 1
        """;

    // KEYS: waitlist, emails, at. ARGV: ids...
    private const string DeleteWaitlistScript = """
        local n = 0
        for _, id in ipairs(ARGV) do
          local json = redis.call('HGET', KEYS[1], id)
          if json then
            local email = cjson.decode(json)['email']
            redis.call('HDEL', KEYS[2], string.lower(email))
            redis.call('HDEL', KEYS[1], id)
            n = n + 1
          end
          redis.call('ZREM', KEYS[3], id)
        end
        return n
        """;

    // KEYS: analytics. ARGV: field, count, field, count...
    private const string AddAnalyticsScript = """
        for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
        return 1
        """;

    // KEYS: analytics. ARGV: cutoff (hour in unix seconds).
    private const string DeleteAnalyticsScript = """
        local n = 0
        local all = redis.call('HKEYS', KEYS[1])
        for _, f in ipairs(all) do
          local hour = tonumber(string.match(f, '^(%d+)|'))
          if hour and hour < tonumber(ARGV[1]) then redis.call('HDEL', KEYS[1], f) n = n + 1 end
        end
        return n
        """;

    /// <inheritdoc />
    public ValueTask<AdminSettings> GetSettingsAsync(CancellationToken cancellationToken) => GuardAsync(async db =>
        AdminSettings.FromJson(await db.StringGetAsync(Key("settings"))));

    /// <inheritdoc />
    public ValueTask SaveSettingsAsync(AdminSettings settings, CancellationToken cancellationToken) => GuardAsync(async db =>
        await db.StringSetAsync(Key("settings"), settings.ToJson())).AsVoidTask();

    /// <inheritdoc />
    public ValueTask AddFeedbackAsync(FeedbackEntry entry, int keep, CancellationToken cancellationToken) => GuardAsync(async db =>
        await db.ScriptEvaluateAsync(AddFeedbackScript, [Key("feedback")],
            [JsonSerializer.Serialize(entry, AdminJson.Default.FeedbackEntry), keep.ToString(CultureInfo.InvariantCulture)])).AsVoidTask();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FeedbackEntry>> ListFeedbackAsync(int limit, CancellationToken cancellationToken) => GuardAsync(async db =>
        (IReadOnlyList<FeedbackEntry>)[.. (await db.ListRangeAsync(Key("feedback"), 0, limit - 1))
            .Select(v => JsonSerializer.Deserialize((string)v!, AdminJson.Default.FeedbackEntry)!)]);

    /// <inheritdoc />
    public ValueTask<bool> DeleteFeedbackAsync(string id, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(DeleteFeedbackScript, [Key("feedback")], ["\"id\":" + JsonSerializer.Serialize(id) + ","]) == 1);

    /// <inheritdoc />
    public ValueTask<bool> AddWaitlistAsync(WaitlistEntry entry, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(AddWaitlistScript, WaitlistKeys,
            [entry.Id, entry.Email.ToLowerInvariant(), JsonSerializer.Serialize(entry, AdminJson.Default.WaitlistEntry), entry.At.ToUnixTimeMilliseconds()]) == 1);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<WaitlistEntry>> ListWaitlistAsync(int limit, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var ids = await db.SortedSetRangeByRankAsync(Key("waitlist-at"), 0, limit - 1, Order.Descending);
        if (ids.Length == 0)
        {
            return [];
        }
        var values = await db.HashGetAsync(Key("waitlist"), ids);
        return (IReadOnlyList<WaitlistEntry>)[.. values.Where(v => !v.IsNull).Select(v => JsonSerializer.Deserialize((string)v!, AdminJson.Default.WaitlistEntry)!)];
    });

    /// <inheritdoc />
    public ValueTask<bool> DeleteWaitlistAsync(string id, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(DeleteWaitlistScript, WaitlistKeys, [id]) == 1);

    /// <inheritdoc />
    public ValueTask<int> DeleteWaitlistBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        // Strictly before the cutoff: the exclusive upper bound.
        var ids = await db.SortedSetRangeByScoreAsync(Key("waitlist-at"), double.NegativeInfinity, cutoff.ToUnixTimeMilliseconds(), Exclude.Stop);
        return ids.Length == 0 ? 0 : (int)await db.ScriptEvaluateAsync(DeleteWaitlistScript, WaitlistKeys, ids);
    });

    /// <inheritdoc />
    public ValueTask AddAnalyticsAsync(IReadOnlyList<AnalyticsBucket> increments, CancellationToken cancellationToken) => GuardAsync(async db =>
        increments.Count == 0 ? RedisResult.Create(0) : await db.ScriptEvaluateAsync(AddAnalyticsScript, [Key("analytics")],
            [.. increments.SelectMany(b => new RedisValue[] { Field(b), b.Count })])).AsVoidTask();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AnalyticsBucket>> ListAnalyticsAsync(DateTimeOffset from, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var list = new List<AnalyticsBucket>();
        foreach (var entry in await db.HashGetAllAsync(Key("analytics")))
        {
            var parts = ((string)entry.Name!).Split('|');
            var hour = DateTimeOffset.FromUnixTimeSeconds(long.Parse(parts[0], CultureInfo.InvariantCulture));
            if (parts.Length == 3 && hour >= from)
            {
                list.Add(new AnalyticsBucket(hour, parts[1], parts[2], (long)entry.Value));
            }
        }
        return (IReadOnlyList<AnalyticsBucket>)[.. list.OrderBy(a => a.Hour).ThenBy(a => a.Metric, StringComparer.Ordinal).ThenBy(a => a.Outcome, StringComparer.Ordinal)];
    });

    /// <inheritdoc />
    public ValueTask<int> DeleteAnalyticsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(DeleteAnalyticsScript, [Key("analytics")], [cutoff.ToUnixTimeSeconds()]));

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_connection.IsValueCreated)
        {
            return;
        }
        try
        {
            await (await _connection.Value).DisposeAsync();
        }
        catch (RedisException)
        {
            // Never connected: nothing to close.
        }
    }

    private RedisKey[] WaitlistKeys => [Key("waitlist"), Key("waitlist-emails"), Key("waitlist-at")];

    private RedisKey Key(string name) => prefix + "admin:" + name;

    private static string Field(AnalyticsBucket b) =>
        b.Hour.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + "|" + b.Metric + "|" + b.Outcome;

    private async ValueTask<T> GuardAsync<T>(Func<IDatabase, Task<T>> action)
    {
        try
        {
            return await action((await _connection.Value).GetDatabase());
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            throw new StorageUnavailableException("The admin store is unavailable.", exception);
        }
    }

    /// <summary>No abort on a failed first connect, short timeouts, no command backlog (as the account store).</summary>
    private static ConfigurationOptions FailFastOptions(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        if (!configuration.Contains("abortConnect=", StringComparison.OrdinalIgnoreCase))
        {
            options.AbortOnConnectFail = false;
        }
        if (!configuration.Contains("connectTimeout=", StringComparison.OrdinalIgnoreCase))
        {
            options.ConnectTimeout = 2000;
        }
        if (!configuration.Contains("asyncTimeout=", StringComparison.OrdinalIgnoreCase))
        {
            options.AsyncTimeout = 2000;
        }
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }
}

internal static class AdminValueTaskExtensions
{
    public static async ValueTask AsVoidTask<T>(this ValueTask<T> task) => await task;
}
