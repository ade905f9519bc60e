using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 13: a host drives maintenance mode and the maximum call duration at run time through
/// <see cref="IQrCallingRuntimeSettings"/> (<c>UseRuntimeSettings</c>); the library enforces both on <c>POST /calls</c>.</summary>
public sealed class RuntimeSettingsTests
{
    private sealed class Switchable : IQrCallingRuntimeSettings
    {
        public QrCallingRuntimeSettings Current { get; set; } = QrCallingRuntimeSettings.Default;

        public ValueTask<QrCallingRuntimeSettings> GetAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Current);
    }

    [Fact]
    public async Task Maintenance_NewCallsAre503Maintenance_RunningCallGoesOn_OffRestores()
    {
        var settings = new Switchable();
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddQrCallingCore().UseRuntimeSettings(_ => settings));
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var running = await host.Client().StartCallAsync(payload, "chat");
        var caller = host.Client(bearer: running.GetProperty("callToken").GetString());
        var callId = running.GetProperty("callId").GetString();

        settings.Current = new QrCallingRuntimeSettings { MaintenanceMode = true };
        var refused = await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload, media = "chat" }));
        var stillThere = await caller.GetAsync($"/api/v1/calls/{callId}");
        var signal = await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "offer", data = new { sdp = "v=0" } }));
        settings.Current = QrCallingRuntimeSettings.Default;
        var again = await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload, media = "chat" }));

        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "maintenance");
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, signal.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Contains("maintenance", host.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaxCallDuration_Shorter_AppliesToNewCalls_LongerThanConfigured_IsCapped()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var settings = new Switchable();
        await using var host = await TestHost.StartAsync(core: o => o.MaxCallDuration = TimeSpan.FromHours(1), time: time,
            configure: b => b.Services.AddQrCallingCore().UseRuntimeSettings(_ => settings));
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;

        settings.Current = new QrCallingRuntimeSettings { MaxCallDuration = TimeSpan.FromMinutes(10) };
        var shorter = await host.Client().StartCallAsync(payload, "chat");
        settings.Current = new QrCallingRuntimeSettings { MaxCallDuration = TimeSpan.FromHours(5) };
        var capped = await host.Client().StartCallAsync(payload, "chat");

        Assert.Equal(time.GetUtcNow().AddMinutes(10), shorter.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal(time.GetUtcNow().AddHours(1), capped.GetProperty("expiresAt").GetDateTimeOffset());
    }
}
