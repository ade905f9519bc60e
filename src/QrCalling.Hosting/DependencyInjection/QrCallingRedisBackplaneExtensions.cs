using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using QrCalling.Hosting;
using QrCalling.Hosting.Hubs;
using StackExchange.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds SignalR's Redis backplane to QrCalling's hub.</summary>
public static class QrCallingRedisBackplaneExtensions
{
    /// <summary>The key under which QrCalling.Storage.Redis registers its connection (its
    /// <c>RedisStorageOptions.SharedConnectionKey</c>).</summary>
    internal const string StorageConnectionKey = "QrCalling.Storage.Redis.Connection";

    /// <summary>Delivers hub events across host instances through SignalR's Redis backplane, so QrCalling's
    /// group-based transport reaches an owner's devices and a caller on whichever instance they are connected to.
    /// Works with PostgreSQL or Redis storage; with <c>.UseRedisStorage(…)</c> and no connection of its own it shares
    /// the storage connection. Options are validated at start-up; safe to call more than once.</summary>
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
        services.AddSingleton<RedisBackplaneConnection>();
        services.AddSignalR().AddStackExchangeRedis();
        services.AddOptions<RedisOptions>().Configure<RedisBackplaneConnection, IOptions<RedisBackplaneOptions>>((redis, connection, backplane) =>
        {
            redis.Configuration.ChannelPrefix = RedisChannel.Literal(backplane.Value.ChannelPrefix);
            redis.ConnectionFactory = _ => connection.GetAsync();
        });
        // A revoked device's connections close at once on every instance, not only on the one that revoked it.
        services.AddSingleton<RedisDeviceRevocationChannel>();
        services.AddSingleton<IDeviceRevocationBroadcast>(sp => sp.GetRequiredService<RedisDeviceRevocationChannel>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisDeviceRevocationChannel>());
        return builder;
    }

    private sealed class BackplaneMarker;
}
