using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Storage;

namespace QrCalling.Hosting.Internal;

/// <summary>Runs <see cref="CallService.SweepAsync"/> every <see cref="QrCallingOptions.SweepInterval"/> on a
/// <see cref="TimeProvider"/>-based timer.</summary>
internal sealed class CallSweepService(CallService calls, QrCalling.Rooms.RoomService rooms, QrCalling.Hosting.Hubs.RoomNotifier roomNotifier,
    IOptions<QrCallingOptions> options, TimeProvider timeProvider, ILogger<CallSweepService> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    var ended = await calls.SweepAsync(stoppingToken);
                    if (ended > 0)
                    {
                        Log.Swept(logger, ended);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.SweepFailed(logger, ex);
                }
                await SweepRoomsAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Rooms: reports this instance's connected rooms as active, ends expired and idle rooms (RoomEnded to everyone
    /// connected, then their connections here close), and closes connections of rooms ended elsewhere.</summary>
    internal async Task SweepRoomsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var ended = await rooms.SweepAsync(roomNotifier.ConnectedRooms, cancellationToken);
            foreach (var room in ended)
            {
                await roomNotifier.EndedAsync(room.RoomId, room.Reason, cancellationToken);
            }
            if (ended.Count > 0)
            {
                RoomLog.Swept(logger, ended.Count);
            }
            await roomNotifier.CloseGoneAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            RoomLog.SweepFailed(logger, ex);
        }
    }
}

/// <summary>Readiness: the storage answers <see cref="IStorage.PingAsync"/>.</summary>
internal sealed class StorageHealthCheck(IStorage storage) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await storage.PingAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy("The storage does not answer.");
        }
    }
}
