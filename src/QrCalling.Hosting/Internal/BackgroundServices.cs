using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Storage;

namespace QrCalling.Hosting.Internal;

/// <summary>Runs <see cref="CallService.SweepAsync"/> every <see cref="QrCallingOptions.SweepInterval"/> on a
/// <see cref="TimeProvider"/>-based timer.</summary>
internal sealed class CallSweepService(CallService calls, IOptions<QrCallingOptions> options, TimeProvider timeProvider, ILogger<CallSweepService> logger)
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
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
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
