using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Storage;
using QrCalling.Storage.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Redis storage to QrCalling. (The SignalR Redis backplane is QrCalling.Hosting's <c>UseRedisBackplane</c>.)</summary>
public static class QrCallingRedisExtensions
{
    /// <summary>Stores codes, calls and mailboxes in Redis (7.0 or later, a single primary or Sentinel; not Cluster),
    /// so several host instances can share them. Options are validated at start-up.</summary>
    /// <param name="builder">The QrCalling builder.</param>
    /// <param name="configure">Sets <see cref="RedisStorageOptions.Configuration"/> or
    /// <see cref="RedisStorageOptions.ConnectionMultiplexerFactory"/>, and optionally the key prefix.</param>
    public static QrCallingBuilder UseRedisStorage(this QrCallingBuilder builder, Action<RedisStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<RedisStorageOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisStorageOptions>, RedisStorageOptionsValidator>());
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<RedisStorageOptions>>().Value;
            var logger = sp.GetRequiredService<ILoggerFactory>().CreateLogger("QrCalling.Storage.Redis");
            return options.ConnectionMultiplexerFactory is { } factory
                ? new RedisConnection(() => factory(sp), ownsConnection: false, logger)
                : RedisConnection.FromConfiguration(options.Configuration!, logger);
        });
        services.TryAddSingleton<RedisStorage>();
        // Shared with QrCalling.Hosting's UseRedisBackplane, which asks for it by this key (it does not reference this package).
        services.TryAddKeyedSingleton<Func<CancellationToken, ValueTask<IConnectionMultiplexer>>>(RedisStorageOptions.SharedConnectionKey,
            (sp, _) => sp.GetRequiredService<RedisConnection>().GetMultiplexerAsync);
        return builder.UseStorage(sp => sp.GetRequiredService<RedisStorage>());
    }

}
