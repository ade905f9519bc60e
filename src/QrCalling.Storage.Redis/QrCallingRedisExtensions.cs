using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Storage;
using QrCalling.Storage.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Redis storage and the Redis backplane to QrCalling.</summary>
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
        return builder.UseStorage(sp => sp.GetRequiredService<RedisStorage>());
    }

    /// <summary>Delivers hub events across host instances through SignalR's Redis backplane, so QrCalling's
    /// group-based transport reaches an owner's devices and a caller on whichever instance they are connected to.
    /// Works with PostgreSQL or Redis storage; with <c>.UseRedisStorage(…)</c> and no connection of its own it shares
    /// the storage connection.</summary>
    /// <param name="builder">The QrCalling builder.</param>
    /// <param name="configure">Optionally sets an own connection and the channel prefix.</param>
    public static QrCallingBuilder UseRedisBackplane(this QrCallingBuilder builder, Action<RedisBackplaneOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<RedisBackplaneOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisBackplaneOptions>, RedisBackplaneOptionsValidator>());
        if (services.Any(d => d.ServiceType == typeof(BackplaneMarker)))
        {
            return builder;
        }
        services.AddSingleton<BackplaneMarker>();
        services.AddSignalR().AddStackExchangeRedis();
        services.AddOptions<RedisOptions>().Configure<IServiceProvider, IOptions<RedisBackplaneOptions>>((redis, sp, backplane) =>
        {
            var settings = backplane.Value;
            redis.Configuration.ChannelPrefix = RedisChannel.Literal(settings.ChannelPrefix);
            redis.ConnectionFactory = async _ =>
            {
                if (settings.ConnectionMultiplexerFactory is { } factory)
                {
                    return await factory(sp).ConfigureAwait(false);
                }
                if (!string.IsNullOrWhiteSpace(settings.Configuration))
                {
                    var own = ConfigurationOptions.Parse(settings.Configuration);
                    RedisConnection.ApplyFailFastDefaults(own, settings.Configuration);
                    return await ConnectionMultiplexer.ConnectAsync(own).ConfigureAwait(false);
                }
                return await sp.GetRequiredService<RedisConnection>().GetMultiplexerAsync(CancellationToken.None).ConfigureAwait(false);
            };
        });
        return builder;
    }

    private sealed class BackplaneMarker;
}
