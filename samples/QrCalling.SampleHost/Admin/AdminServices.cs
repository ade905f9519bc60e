using QrCalling.SampleHost.Accounts;

namespace QrCalling.SampleHost.Admin;

/// <summary>Registers the admin console: its store (with the configured storage), the runtime settings that drive
/// QrCalling, the meter listener, the operations log and the background work.</summary>
public static partial class AdminServices
{
    /// <summary>Adds the admin console's services.</summary>
    public static IServiceCollection AddSampleAdmin(this IServiceCollection services, IConfiguration configuration, SampleSettings settings)
    {
        var console = AdminConsoleSettings.From(configuration);
        services.AddSingleton(console);
        services.AddSingleton<IAdminStore>(_ => settings.Storage switch
        {
            "postgres" => new PostgresAdminStore(settings.ConnectionString!),
            "redis" => new RedisAdminStore(settings.ConnectionString!),
            _ => new InMemoryAdminStore(),
        });
        services.AddSingleton<AdminRuntime>();
        services.AddSingleton<AdminMetrics>();
        services.AddSingleton<AdminRetention>();
        services.AddSingleton<OpsLog>();
        services.AddSingleton<ILoggerProvider, OpsLogProvider>();
        services.AddHostedService<AdminBackgroundService>();
        return services;
    }
}

/// <summary>Writes the pending analytics every minute; once an hour deletes waitlist addresses older than their retention
/// and analytics older than theirs. Store outages are logged (as warnings, without details) and retried next time.</summary>
internal sealed partial class AdminBackgroundService(AdminMetrics metrics, IAdminStore store, AdminRetention retention, TimeProvider time,
    ILogger<AdminBackgroundService> logger) : BackgroundService
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastSweep = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(FlushInterval, time, stoppingToken);
                await metrics.FlushAnalyticsAsync(store, stoppingToken);
                if (time.GetUtcNow() - lastSweep >= TimeSpan.FromHours(1))
                {
                    var (waitlist, _) = await retention.SweepAsync(stoppingToken);
                    if (waitlist > 0)
                    {
                        Log.WaitlistSwept(logger, waitlist);
                    }
                    lastSweep = time.GetUtcNow();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageUnavailableException)
            {
                Log.AdminStoreUnavailable(logger);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "The admin store is unavailable; the admin console's background work retries in a minute.")]
        public static partial void AdminStoreUnavailable(ILogger logger);

        [LoggerMessage(EventId = 9102, Level = LogLevel.Information, Message = "Retention sweep deleted {Count} waitlist addresses.")]
        public static partial void WaitlistSwept(ILogger logger, int count);
    }
}

/// <summary>The retention sweep of the admin data: waitlist addresses older than <c>QrCalling:Sample:WaitlistRetentionDays</c>
/// and analytics older than <c>QrCalling:Sample:AnalyticsRetentionDays</c> are deleted (hourly, by the background service).</summary>
public sealed class AdminRetention(IAdminStore store, AdminConsoleSettings settings, TimeProvider time)
{
    /// <summary>Deletes what is past its retention; returns how many waitlist addresses and analytics buckets went.</summary>
    public async Task<(int Waitlist, int Analytics)> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var waitlist = await store.DeleteWaitlistBeforeAsync(now - settings.WaitlistRetention, cancellationToken);
        var analytics = await store.DeleteAnalyticsBeforeAsync(now - settings.AnalyticsRetention, cancellationToken);
        return (waitlist, analytics);
    }
}
