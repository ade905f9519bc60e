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
}

/// <summary>Options of the Redis backplane (<c>.UseRedisBackplane(…)</c>): SignalR's Redis backplane, so QrCalling's
/// group-based transport reaches connections on every host instance. Without <see cref="Configuration"/> or
/// <see cref="ConnectionMultiplexerFactory"/> it shares the connection of <c>.UseRedisStorage(…)</c>.</summary>
public sealed class RedisBackplaneOptions
{
    /// <summary>A StackExchange.Redis configuration string for the backplane's own connection; null to share the
    /// storage connection (or use <see cref="ConnectionMultiplexerFactory"/>).</summary>
    public string? Configuration { get; set; }

    /// <summary>An app-owned connection for the backplane. Note that SignalR's backplane disposes its connection when
    /// the host stops.</summary>
    public Func<IServiceProvider, Task<IConnectionMultiplexer>>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>Prefix of the backplane's pub/sub channels, so several apps can share one Redis. Default <c>qrcalling</c>.</summary>
    public string ChannelPrefix { get; set; } = "qrcalling";
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

/// <summary>Validates <see cref="RedisBackplaneOptions"/> at start-up with messages that name the key.</summary>
internal sealed class RedisBackplaneOptionsValidator(IServiceProvider services) : IValidateOptions<RedisBackplaneOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisBackplaneOptions options)
    {
        var failures = new List<string>();
        var hasOwn = !string.IsNullOrWhiteSpace(options.Configuration);
        if (hasOwn && options.ConnectionMultiplexerFactory is not null)
        {
            failures.Add("Set only one of RedisBackplaneOptions.Configuration and RedisBackplaneOptions.ConnectionMultiplexerFactory.");
        }
        else if (hasOwn && RedisConnection.TryParse(options.Configuration!) is null)
        {
            failures.Add("RedisBackplaneOptions.Configuration is not a valid StackExchange.Redis configuration string.");
        }
        else if (!hasOwn && options.ConnectionMultiplexerFactory is null && services.GetService(typeof(RedisConnection)) is null)
        {
            failures.Add("RedisBackplaneOptions.Configuration is required unless .UseRedisStorage(…) is used (the backplane then shares its connection).");
        }
        if (string.IsNullOrWhiteSpace(options.ChannelPrefix))
        {
            failures.Add("RedisBackplaneOptions.ChannelPrefix must not be empty (default \"qrcalling\").");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
