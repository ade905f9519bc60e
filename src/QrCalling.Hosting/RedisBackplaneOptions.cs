using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace QrCalling.Hosting;

/// <summary>Options of the Redis backplane (<c>.UseRedisBackplane(…)</c>): SignalR's Redis backplane, so QrCalling's
/// group-based transport reaches connections on every host instance. Without <see cref="Configuration"/> or
/// <see cref="ConnectionMultiplexerFactory"/> it shares the connection of QrCalling.Storage.Redis's
/// <c>.UseRedisStorage(…)</c>.</summary>
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
        else if (hasOwn && !IsValid(options.Configuration!))
        {
            failures.Add("RedisBackplaneOptions.Configuration is not a valid StackExchange.Redis configuration string.");
        }
        else if (!hasOwn && options.ConnectionMultiplexerFactory is null && !SharesStorageConnection())
        {
            failures.Add("RedisBackplaneOptions.Configuration is required unless .UseRedisStorage(…) is used (the backplane then shares its connection).");
        }
        if (string.IsNullOrWhiteSpace(options.ChannelPrefix))
        {
            failures.Add("RedisBackplaneOptions.ChannelPrefix must not be empty (default \"qrcalling\").");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private bool SharesStorageConnection() =>
        services is IKeyedServiceProvider keyed
        && keyed.GetKeyedService<Func<CancellationToken, ValueTask<IConnectionMultiplexer>>>(QrCallingRedisBackplaneExtensions.StorageConnectionKey) is not null;

    private static bool IsValid(string configuration)
    {
        try
        {
            ConfigurationOptions.Parse(configuration);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
