using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace QrCalling.Hosting.Hubs;

/// <summary>The backplane's Redis connection, made once (the app's factory, an own configuration, or the storage's
/// shared connection) and used by SignalR's backplane and QrCalling's own channels alike.</summary>
internal sealed class RedisBackplaneConnection(IServiceProvider services, IOptions<RedisBackplaneOptions> options)
{
    private readonly Lock _lock = new();
    private Task<IConnectionMultiplexer>? _connection;

    public string ChannelPrefix => options.Value.ChannelPrefix;

    /// <summary>The connection; a failed attempt is forgotten, so the next caller tries again (as SignalR's backplane
    /// does with its factory).</summary>
    public Task<IConnectionMultiplexer> GetAsync()
    {
        lock (_lock)
        {
            if (_connection is null || _connection.IsFaulted || _connection.IsCanceled)
            {
                _connection = ConnectAsync(services, options.Value);
            }
            return _connection;
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(IServiceProvider services, RedisBackplaneOptions settings)
    {
        if (settings.ConnectionMultiplexerFactory is { } factory)
        {
            return await factory(services).ConfigureAwait(false);
        }
        if (!string.IsNullOrWhiteSpace(settings.Configuration))
        {
            var own = ConfigurationOptions.Parse(settings.Configuration);
            own.AbortOnConnectFail = false;
            return await ConnectionMultiplexer.ConnectAsync(own).ConfigureAwait(false);
        }
        var shared = services.GetRequiredKeyedService<Func<CancellationToken, ValueTask<IConnectionMultiplexer>>>(
            Microsoft.Extensions.DependencyInjection.QrCallingRedisBackplaneExtensions.StorageConnectionKey);
        return await shared(CancellationToken.None).ConfigureAwait(false);
    }
}
