using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Options of the Redis storage (<c>.UseRedisStorage(…)</c>). Set either <see cref="Configuration"/> or
/// <see cref="ConnectionMultiplexerFactory"/>; both are validated at start-up.</summary>
public sealed class RedisStorageOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis.internal:6379,password=…</c> (typically from
    /// <c>ConnectionStrings:Redis</c>). The adapter then owns the connection, with fail-fast defaults
    /// (2 s connect/sync/async timeouts unless the string sets them, <c>abortConnect=false</c>, no command backlog).</summary>
    public string? Configuration { get; set; }

    /// <summary>An app-owned connection: a factory returning the <see cref="IConnectionMultiplexer"/> the app shares.
    /// The adapter never disposes it. Prefer <c>abortConnect=false</c> and short timeouts on it so that a Redis outage
    /// fails fast with <see cref="StorageUnavailableException"/>.</summary>
    public Func<IServiceProvider, Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>Prefix of every key, so several apps (or tests) can share one Redis database. Default <c>qrcalling:</c>.</summary>
    public string KeyPrefix { get; set; } = "qrcalling:";

    /// <summary>The service key under which <c>.UseRedisStorage(…)</c> registers its connection as a keyed
    /// <c>Func&lt;CancellationToken, ValueTask&lt;IConnectionMultiplexer&gt;&gt;</c>, so QrCalling.Hosting's
    /// <c>UseRedisBackplane()</c> can share it.</summary>
    public const string SharedConnectionKey = "QrCalling.Storage.Redis.Connection";
}

/// <summary>Validates <see cref="RedisStorageOptions"/> at start-up with messages that name the key.</summary>
internal sealed class RedisStorageOptionsValidator : IValidateOptions<RedisStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisStorageOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration) == (options.ConnectionMultiplexerFactory is null))
        {
            failures.Add(options.ConnectionMultiplexerFactory is null
                ? "RedisStorageOptions.Configuration is required (a StackExchange.Redis configuration string, e.g. from ConnectionStrings:Redis), or set RedisStorageOptions.ConnectionMultiplexerFactory."
                : "Set only one of RedisStorageOptions.Configuration and RedisStorageOptions.ConnectionMultiplexerFactory.");
        }
        else if (!string.IsNullOrWhiteSpace(options.Configuration) && RedisConnection.TryParse(options.Configuration) is null)
        {
            failures.Add("RedisStorageOptions.Configuration is not a valid StackExchange.Redis configuration string.");
        }
        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            failures.Add("RedisStorageOptions.KeyPrefix must not be empty (default \"qrcalling:\").");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
