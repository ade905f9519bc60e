using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using QrCalling.Calls;
using QrCalling.Diagnostics;
using QrCalling.Hosting.Hubs;
using QrCalling.Storage;

namespace QrCalling.Hosting.Internal;

/// <summary>Hosting's instruments in the <c>QrCalling</c> meter (next to Core's) and the counts the readiness report
/// shows: open hub connections on this instance.</summary>
internal sealed class HostingMetrics
{
    private long _hubConnections;

    public HostingMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(QrCallingDiagnostics.MeterName);
        HubConnections = meter.CreateUpDownCounter<long>(QrCallingDiagnostics.HubConnections, "{connection}", "Open hub connections on this instance");
    }

    public UpDownCounter<long> HubConnections { get; }

    /// <summary>Open hub connections on this instance now.</summary>
    public long OpenHubConnections => Interlocked.Read(ref _hubConnections);

    public void HubConnected()
    {
        Interlocked.Increment(ref _hubConnections);
        HubConnections.Add(1);
    }

    public void HubDisconnected()
    {
        Interlocked.Decrement(ref _hubConnections);
        HubConnections.Add(-1);
    }
}

/// <summary>The body of <c>/health/ready</c>: the storage's status, uptime, and counts only (no id of any kind): calls
/// ringing and active (from the storage, all instances, counted up to <see cref="MaxCounted"/>), connected owner devices
/// and hub connections (this instance). The status code stays the health check's: 200 when the storage answers, 503
/// when it does not.</summary>
internal sealed class ReadinessReport(IStorage storage, ConnectionTracker devices, HostingMetrics metrics, TimeProvider time)
{
    /// <summary>Open calls counted at most (a readiness probe must stay cheap).</summary>
    public const int MaxCounted = 10_000;

    /// <summary>When this instance started (when the report was first created, at <c>MapQrCalling</c>).</summary>
    public DateTimeOffset StartedAt { get; } = time.GetUtcNow();

    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        var self = context.RequestServices.GetRequiredService<ReadinessReport>();
        var healthy = report.Status != HealthStatus.Unhealthy;
        int? ringing = null, active = null;
        if (healthy)
        {
            try
            {
                (ringing, active) = await self.CountOpenCallsAsync(context.RequestAborted);
            }
            catch (Exception ex) when (ex is StorageUnavailableException or OperationCanceledException)
            {
                // The counts are left out; the status stays the health check's.
            }
        }
        var body = new ReadyResponse(
            healthy ? "healthy" : "unhealthy",
            report.Entries.TryGetValue("qrcalling-storage", out var storageEntry) && storageEntry.Status == HealthStatus.Healthy ? "healthy" : "unhealthy",
            (long)Math.Max(0, (self.time.GetUtcNow() - self.StartedAt).TotalSeconds),
            ringing, active, self.devices.DeviceCount, self.metrics.OpenHubConnections);
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        await JsonSerializer.SerializeAsync(context.Response.Body, body, Http.QrCallingJson.Options, context.RequestAborted);
    }

    private async Task<(int Ringing, int Active)> CountOpenCallsAsync(CancellationToken cancellationToken)
    {
        int ringing = 0, active = 0;
        await foreach (var call in storage.Calls.ListOpenAsync(MaxCounted, cancellationToken).ConfigureAwait(false))
        {
            if (call.State == CallState.Active)
            {
                active++;
            }
            else if (call.State == CallState.Ringing)
            {
                ringing++;
            }
        }
        return (ringing, active);
    }

    private readonly TimeProvider time = time;
    private readonly ConnectionTracker devices = devices;
    private readonly HostingMetrics metrics = metrics;
}

/// <summary><c>/health/ready</c>'s JSON: counts only.</summary>
internal sealed record ReadyResponse(string Status, string Storage, long UptimeSeconds, int? RingingCalls, int? ActiveCalls, int ConnectedDevices,
    long HubConnections);
