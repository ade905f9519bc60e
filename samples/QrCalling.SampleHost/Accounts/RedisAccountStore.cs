using StackExchange.Redis;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts as Redis hashes (<c>qrcalling-sample:account:&lt;lower-case name&gt;</c>) when the sample runs with
/// <c>QrCalling:Storage=redis</c>, so every instance behind the backplane knows every account.</summary>
public sealed class RedisAccountStore(string configuration) : IAccountStore, IAsyncDisposable
{
    private readonly Lazy<Task<ConnectionMultiplexer>> _connection = new(() => ConnectionMultiplexer.ConnectAsync(configuration));

    /// <inheritdoc />
    public async ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken)
    {
        var db = (await _connection.Value).GetDatabase();
        var key = Key(account.UserName);
        var transaction = db.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(key));
        _ = transaction.HashSetAsync(key, [new("id", account.Id), new("username", account.UserName), new("hash", account.PasswordHash)]);
        return await transaction.ExecuteAsync();
    }

    /// <inheritdoc />
    public async ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken)
    {
        var db = (await _connection.Value).GetDatabase();
        var values = await db.HashGetAsync(Key(userName), ["id", "username", "hash"]);
        return values.Any(v => v.IsNull) ? null : new SampleAccount(values[0]!, values[1]!, values[2]!);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated)
        {
            await (await _connection.Value).DisposeAsync();
        }
    }

    private static RedisKey Key(string userName) => "qrcalling-sample:account:" + userName.ToLowerInvariant();
}
