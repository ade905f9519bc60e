using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Internal;
using StackExchange.Redis;

namespace QrCalling.Hosting.Hubs;

/// <summary>Ends a revoked paired device's hub connections on every host instance at once: each instance tells the
/// device's connections it holds <c>DeviceRevoked</c> and closes them. The revoking instance does it for its own
/// connections and tells the others through every <see cref="IDeviceRevocationBroadcast"/> (the Redis backplane's
/// pub/sub, <see cref="RedisDeviceRevocationChannel"/>). The hub filter's re-check of a paired device's token before each
/// invocation stays as the fallback should a broadcast be lost.</summary>
internal sealed class DeviceRevocations(ConnectionTracker tracker, QrCallingConnections connections, IHubContext<CallHub> hub,
    IEnumerable<IDeviceRevocationBroadcast> broadcasts, ILogger<DeviceRevocations> logger)
{
    /// <summary>The device was revoked (its token is gone from the store): closes its connections here and on the other
    /// instances. A failed broadcast is logged, not thrown: the revocation itself has happened.</summary>
    public async Task RevokedAsync(string ownerId, string deviceId)
    {
        await CloseHereAsync(ownerId, deviceId).ConfigureAwait(false);
        foreach (var broadcast in broadcasts)
        {
            try
            {
                await broadcast.PublishAsync(ownerId, deviceId).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                DeviceRevocationLog.BroadcastFailed(logger, deviceId, ex);
            }
        }
    }

    /// <summary>Tells the device's connections on this instance <c>DeviceRevoked</c>, then closes them (after
    /// <see cref="FlushGrace"/>, without waiting for it); returns how many.</summary>
    public async Task<int> CloseHereAsync(string ownerId, string deviceId)
    {
        var ids = tracker.ConnectionsOf(ownerId, deviceId);
        if (ids.Count == 0)
        {
            return 0;
        }
        await hub.Clients.SendEachAsync(ids, DeviceEndpoints.DeviceRevokedEvent, new { deviceId }, CancellationToken.None).ConfigureAwait(false);
        // The send has reached the connection's output pipe, not the network: closing at once can cut it off, and the
        // device would not learn why. Wall-clock time on purpose: this waits for I/O, not for anything of the protocol.
        _ = Task.Delay(FlushGrace).ContinueWith(_ => connections.Close(ids), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return ids.Count;
    }

    /// <summary>How long a revoked device's connection may take to send <c>DeviceRevoked</c> before it is closed.
    /// Meanwhile the hub filter refuses its invocations (its token is gone).</summary>
    internal static TimeSpan FlushGrace { get; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>Tells the other host instances that a paired device was revoked.</summary>
internal interface IDeviceRevocationBroadcast
{
    Task PublishAsync(string ownerId, string deviceId);
}

/// <summary>The Redis backplane's channel for revoked devices (<c>{ChannelPrefix}:device-revoked</c>, on the
/// backplane's connection): publishes revocations and, on every other instance, closes the revoked device's connections
/// it holds. Messages carry this instance's random id (the revoking instance has closed its own connections already and
/// skips its own message), the owner id and the device id; no token.</summary>
internal sealed class RedisDeviceRevocationChannel(RedisBackplaneConnection backplane, IServiceProvider services, TimeProvider time,
    ILogger<RedisDeviceRevocationChannel> logger) : IDeviceRevocationBroadcast, IHostedService, IDisposable
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private readonly string _instanceId = Guid.NewGuid().ToString("N");
    private readonly CancellationTokenSource _stopping = new();
    private Task? _subscribing;
    private ChannelMessageQueue? _queue;

    private RedisChannel Channel => RedisChannel.Literal(backplane.ChannelPrefix + ":device-revoked");

    public async Task PublishAsync(string ownerId, string deviceId)
    {
        var connection = await backplane.GetAsync().ConfigureAwait(false);
        await connection.GetSubscriber().PublishAsync(Channel, JsonSerializer.Serialize(new[] { _instanceId, ownerId, deviceId })).ConfigureAwait(false);
    }

    /// <summary>Subscribes in the background, retrying while Redis is unreachable, so a host starts even then (its
    /// revoked devices' connections close at their next invocation meanwhile). StackExchange.Redis subscribes again by
    /// itself after a reconnect.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscribing = Task.Run(SubscribeAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task SubscribeAsync()
    {
        // Resolved here, not injected: DeviceRevocations takes this channel as one of its broadcasts.
        var revocations = services.GetRequiredService<DeviceRevocations>();
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                var connection = await backplane.GetAsync().ConfigureAwait(false);
                var queue = await connection.GetSubscriber().SubscribeAsync(Channel).ConfigureAwait(false);
                queue.OnMessage(message => OnRevokedAsync(revocations, message));
                _queue = queue;
                DeviceRevocationLog.Subscribed(logger, Channel.ToString());
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                DeviceRevocationLog.SubscribeFailed(logger, ex);
                try
                {
                    await Task.Delay(RetryDelay, time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task OnRevokedAsync(DeviceRevocations revocations, ChannelMessage message)
    {
        try
        {
            switch (JsonSerializer.Deserialize<string[]>((string)message.Message!))
            {
                case [var sender, _, _] when string.Equals(sender, _instanceId, StringComparison.Ordinal):
                    return; // this instance revoked it and closed its own connections already
                case [_, var ownerId, var deviceId]:
                    var closed = await revocations.CloseHereAsync(ownerId, deviceId).ConfigureAwait(false);
                    DeviceRevocationLog.ClosedHere(logger, deviceId, closed);
                    return;
                default:
                    DeviceRevocationLog.BadMessage(logger, "not [instance, owner, device]");
                    return;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidCastException or ArgumentException)
        {
            DeviceRevocationLog.BadMessage(logger, ex.GetType().Name);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_subscribing is { } subscribing)
        {
            await subscribing.ConfigureAwait(false);
        }
        if (_queue is { } queue)
        {
            try
            {
                await queue.UnsubscribeAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or ObjectDisposedException or TimeoutException)
            {
                // The backplane's connection may already be closed at shutdown.
            }
        }
    }

    public void Dispose() => _stopping.Dispose();
}

internal static partial class DeviceRevocationLog
{
    [LoggerMessage(EventId = 3060, Level = LogLevel.Warning,
        Message = "Device {DeviceId} was revoked, but telling the other instances failed; their connections of it close at their next invocation.")]
    public static partial void BroadcastFailed(ILogger logger, string deviceId, Exception exception);

    [LoggerMessage(EventId = 3061, Level = LogLevel.Warning, Message = "A device-revoked message from the backplane could not be read ({Error}).")]
    public static partial void BadMessage(ILogger logger, string error);

    [LoggerMessage(EventId = 3062, Level = LogLevel.Warning,
        Message = "Subscribing to the backplane's device-revoked channel failed; trying again.")]
    public static partial void SubscribeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3063, Level = LogLevel.Debug, Message = "Subscribed to the backplane's channel {Channel}.")]
    public static partial void Subscribed(ILogger logger, string channel);

    [LoggerMessage(EventId = 3064, Level = LogLevel.Debug, Message = "Device {DeviceId} was revoked on another instance; closing {Count} connection(s) here.")]
    public static partial void ClosedHere(ILogger logger, string deviceId, int count);

}
