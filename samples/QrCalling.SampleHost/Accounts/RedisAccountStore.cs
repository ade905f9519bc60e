using StackExchange.Redis;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts as Redis hashes (<c>qrcalling-sample:account:&lt;lower-case name&gt;</c>) when the sample runs with
/// <c>QrCalling:Storage=redis</c>, so every instance behind the backplane knows every account. A Redis that is down or
/// unreachable surfaces as <see cref="StorageUnavailableException"/> (HTTP 503 <c>storage_unavailable</c>); the
/// connection keeps retrying in the background, so the store works again once Redis is back.</summary>
public sealed class RedisAccountStore(string configuration) : IAccountStore, IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(FailFast(configuration)));

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        var db = (await _connection.Value).GetDatabase();
        var key = Key(account.UserName);
        var transaction = db.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(key));
        _ = transaction.HashSetAsync(key, [new("id", account.Id), new("username", account.UserName), new("hash", account.PasswordHash)]);
        return await transaction.ExecuteAsync();
    });

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken) => GuardAsync(async () =>
    {
        var db = (await _connection.Value).GetDatabase();
        var values = await db.HashGetAsync(Key(userName), ["id", "username", "hash"]);
        return values.Any(v => v.IsNull) ? null : new SampleAccount(values[0]!, values[1]!, values[2]!);
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

    private static RedisKey Key(string userName) => "qrcalling-sample:account:" + userName.ToLowerInvariant();

    private static async ValueTask<T> GuardAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
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
