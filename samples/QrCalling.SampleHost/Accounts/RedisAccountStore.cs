using System.Globalization;
using System.Text.Json;
using StackExchange.Redis;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts as Redis hashes (<c>qrcalling-sample:account:&lt;lower-case name&gt;</c>, with
/// <c>account-id:&lt;id&gt;</c> pointing to the name) when the sample runs with <c>QrCalling:Storage=redis</c>, so every
/// instance behind the backplane knows every account; refresh token families are hashes <c>refresh:&lt;family&gt;</c>
/// (expiring with their token, listed in the set <c>account-refresh:&lt;id&gt;</c>), the audit log the list
/// <c>audit:&lt;id&gt;</c>. Every change that must be atomic is one Lua script. A Redis that is down or unreachable
/// surfaces as <see cref="StorageUnavailableException"/> (HTTP 503 <c>storage_unavailable</c>); the connection keeps
/// retrying in the background, so the store works again once Redis is back.</summary>
public sealed class RedisAccountStore(string configuration) : IAccountStore, IAsyncDisposable
{
    private const string Prefix = "qrcalling-sample:";
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(FailFast(configuration)));

    // KEYS: account, account-id. ARGV: id, username, hash, state, lower name.
    private const string AddScript = """
        if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'hash', ARGV[3], 'version', '0', 'state', ARGV[4])
        redis.call('SET', KEYS[2], ARGV[5])
        return 1
        """;

    // KEYS: account-id. ARGV: prefix, id, hash, state, expected version.
    private const string UpdateScript = """
        local name = redis.call('GET', KEYS[1])
        if not name then return 0 end
        local k = ARGV[1] .. 'account:' .. name
        local v = redis.call('HGET', k, 'version') or '0'
        if redis.call('HGET', k, 'id') ~= ARGV[2] or v ~= ARGV[5] then return 0 end
        redis.call('HSET', k, 'hash', ARGV[3], 'state', ARGV[4], 'version', tostring(tonumber(v) + 1))
        return 1
        """;

    // KEYS: account-id, account-refresh, audit, tombstone. ARGV: prefix, tombstone ttl ms.
    private const string DeleteScript = """
        local name = redis.call('GET', KEYS[1])
        if not name then return 0 end
        for _, f in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[1] .. 'refresh:' .. f) end
        redis.call('DEL', ARGV[1] .. 'account:' .. name, KEYS[1], KEYS[2], KEYS[3])
        redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
        return 1
        """;

    // KEYS: refresh. ARGV: expected hash, new hash, expires ms, ttl ms.
    private const string RotateScript = """
        if redis.call('HGET', KEYS[1], 'hash') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'hash', ARGV[2], 'exp', ARGV[3])
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        return 1
        """;

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(AddScript, [Key(account.UserName), IdKey(account.Id)],
            [account.Id, account.UserName, account.PasswordHash, account.StateJson(), account.UserName.ToLowerInvariant()]) == 1);

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken) => GuardAsync(db => ReadAsync(db, Key(userName)));

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindByIdAsync(string id, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var name = await db.StringGetAsync(IdKey(id));
        if (name.IsNull)
        {
            return null;
        }
        var account = await ReadAsync(db, Key(name!));
        return account?.Id == id ? account : null;
    });

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(SampleAccount account, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(UpdateScript, [IdKey(account.Id)],
            [Prefix, account.Id, account.PasswordHash, account.StateJson(), account.Version.ToString(CultureInfo.InvariantCulture)]) == 1);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken) => GuardAsync(async db =>
        (int)await db.ScriptEvaluateAsync(DeleteScript, [IdKey(id), FamiliesKey(id), AuditKey(id), TombstoneKey(id)],
            [Prefix, (long)AccountTombstone.Lifetime.TotalMilliseconds]) == 1);

    /// <inheritdoc />
    public ValueTask<bool> IsDeletedAsync(string id, CancellationToken cancellationToken) => GuardAsync(db => db.KeyExistsAsync(TombstoneKey(id)));

    /// <inheritdoc />
    public ValueTask AddRefreshFamilyAsync(RefreshFamily family, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var transaction = db.CreateTransaction();
        _ = transaction.HashSetAsync(RefreshKey(family.FamilyId), [new("account", family.AccountId), new("hash", family.TokenHash),
            new("gen", family.Generation), new("exp", family.ExpiresAt.ToUnixTimeMilliseconds())]);
        _ = transaction.KeyExpireAsync(RefreshKey(family.FamilyId), Ttl(family.ExpiresAt));
        _ = transaction.SetAddAsync(FamiliesKey(family.AccountId), family.FamilyId);
        return await transaction.ExecuteAsync();
    }).AsVoid();

    /// <inheritdoc />
    public ValueTask<RefreshFamily?> FindRefreshFamilyAsync(string familyId, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var values = await db.HashGetAsync(RefreshKey(familyId), ["account", "hash", "gen", "exp"]);
        return values.Any(v => v.IsNull) ? null
            : new RefreshFamily(familyId, values[0]!, values[1]!, (long)values[2], DateTimeOffset.FromUnixTimeMilliseconds((long)values[3]));
    });

    /// <inheritdoc />
    public ValueTask<bool> TryRotateRefreshAsync(string familyId, string expectedHash, string newHash, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        GuardAsync(async db => (int)await db.ScriptEvaluateAsync(RotateScript, [RefreshKey(familyId)],
            [expectedHash, newHash, expiresAt.ToUnixTimeMilliseconds(), (long)Ttl(expiresAt).TotalMilliseconds]) == 1);

    /// <inheritdoc />
    public ValueTask DeleteRefreshFamilyAsync(string familyId, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var account = await db.HashGetAsync(RefreshKey(familyId), "account");
        await db.KeyDeleteAsync(RefreshKey(familyId));
        if (!account.IsNull)
        {
            await db.SetRemoveAsync(FamiliesKey(account!), familyId);
        }
        return true;
    }).AsVoid();

    /// <inheritdoc />
    public ValueTask AddAuditAsync(string accountId, AuditEntry entry, int keep, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var transaction = db.CreateTransaction();
        _ = transaction.ListLeftPushAsync(AuditKey(accountId), JsonSerializer.Serialize(entry, AuditJson.Default.AuditEntry));
        _ = transaction.ListTrimAsync(AuditKey(accountId), 0, keep - 1);
        return await transaction.ExecuteAsync();
    }).AsVoid();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(string accountId, int limit, CancellationToken cancellationToken) => GuardAsync(async db =>
    {
        var values = await db.ListRangeAsync(AuditKey(accountId), 0, limit - 1);
        return (IReadOnlyList<AuditEntry>)[.. values.Select(v => JsonSerializer.Deserialize((string)v!, AuditJson.Default.AuditEntry)!)];
    });

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_connection.IsValueCreated)
        {
            return;
        }
        ConnectionMultiplexer multiplexer;
        try
        {
            multiplexer = await _connection.Value;
        }
        catch (RedisException)
        {
            return; // Never connected (abortConnect=true in the configuration): nothing to close.
        }
        await multiplexer.DisposeAsync();
    }

    /// <summary>How long Redis keeps a family: until its token expires by the system clock, at least an hour. The TTL only
    /// frees memory; whether a token still works is checked against <see cref="RefreshFamily.ExpiresAt"/> and the host's
    /// TimeProvider.</summary>
    private static TimeSpan Ttl(DateTimeOffset expiresAt)
    {
        var left = expiresAt - TimeProvider.System.GetUtcNow();
        return left > TimeSpan.FromHours(1) ? left : TimeSpan.FromHours(1);
    }

    private static async Task<SampleAccount?> ReadAsync(IDatabase db, RedisKey key)
    {
        var values = await db.HashGetAsync(key, ["id", "username", "hash", "version", "state"]);
        return values[0].IsNull || values[1].IsNull || values[2].IsNull ? null
            : SampleAccount.FromStored(values[0]!, values[1]!, values[2]!, values[3].IsNull ? 0 : (long)values[3], values[4].IsNull ? null : (string)values[4]!);
    }

    private static RedisKey Key(string userName) => Prefix + "account:" + userName.ToLowerInvariant();
    private static RedisKey IdKey(string id) => Prefix + "account-id:" + id;
    private static RedisKey RefreshKey(string familyId) => Prefix + "refresh:" + familyId;
    private static RedisKey FamiliesKey(string id) => Prefix + "account-refresh:" + id;
    private static RedisKey AuditKey(string id) => Prefix + "audit:" + id;
    private static RedisKey TombstoneKey(string id) => Prefix + "deleted:" + AccountTombstone.Of(id);

    private async ValueTask<T> GuardAsync<T>(Func<IDatabase, Task<T>> action)
    {
        try
        {
            return await action((await _connection.Value).GetDatabase());
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            throw new StorageUnavailableException("The account store is unavailable.", exception);
        }
    }

    /// <summary>No abort on a failed first connect (a faulted connection would otherwise stay cached for good), short
    /// timeouts and no command backlog, unless the configuration string says otherwise.</summary>
    private static ConfigurationOptions FailFast(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        if (!Sets("abortConnect"))
        {
            options.AbortOnConnectFail = false;
        }
        if (!Sets("connectTimeout"))
        {
            options.ConnectTimeout = 2000;
        }
        if (!Sets("syncTimeout"))
        {
            options.SyncTimeout = 2000;
        }
        if (!Sets("asyncTimeout"))
        {
            options.AsyncTimeout = 2000;
        }
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
        bool Sets(string key) => configuration.Contains(key + "=", StringComparison.OrdinalIgnoreCase);
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(AuditEntry))]
internal sealed partial class AuditJson : System.Text.Json.Serialization.JsonSerializerContext;
