using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Storage;
using QrCalling.Transport;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>AddQrCalling is safe to call more than once, as libraries and app code that both register it do.</summary>
public sealed class RegistrationTests
{
    [Fact]
    public async Task AddQrCalling_CalledThreeTimes_RegistersEachServiceOnceAndAppliesEveryConfiguration()
    {
        IServiceCollection? services = null;
        await using var host = await TestHost.StartAsync(
            core: o => o.RingTimeout = TimeSpan.FromSeconds(40),
            configure: builder =>
            {
                builder.Services.AddQrCalling(o => o.MaxCallDuration = TimeSpan.FromMinutes(50));
                builder.Services.AddQrCallingCore(o => o.RingTimeout = TimeSpan.FromSeconds(45)); // the last one wins
                services = builder.Services;
            });

        int Count<T>() => services!.Count(d => d.ServiceType == typeof(T));
        Assert.Equal(1, Count<CallService>());
        Assert.Equal(1, Count<IStorage>());
        Assert.Equal(1, Count<ITransport>());
        Assert.Equal(1, services!.Count(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType?.Name == "CallSweepService"));
        var options = host.App.Services.GetRequiredService<IOptions<QrCallingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(45), options.RingTimeout);
        Assert.Equal(TimeSpan.FromMinutes(50), options.MaxCallDuration);
        // One storage health check (a second one of that name would make every health request fail).
        var health = await host.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(CancellationToken.None);
        Assert.Equal(["qrcalling-storage"], health.Entries.Keys);
        // And it works: a code, a scan, a call.
        var code = await host.Client(owner: "alice").IssueCodeAsync();
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        Assert.StartsWith("call_", started.GetProperty("callId").GetString());
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public void AddQrCalling_CalledAgain_AddsNothingButTheNewConfigureDelegates()
    {
        var once = new ServiceCollection();
        once.AddQrCalling(o => o.RingTimeout = TimeSpan.FromSeconds(40));
        var thrice = new ServiceCollection();
        thrice.AddQrCalling(o => o.RingTimeout = TimeSpan.FromSeconds(40));
        thrice.AddQrCalling(o => o.MaxCallDuration = TimeSpan.FromMinutes(50), h => h.HubPath = "/hubs/calls");
        thrice.AddQrCalling();

        // Not compared: the configure delegates each call passes, and ValidateOnStart's registrations (keyed by options
        // type and name, so a repeat validates once).
        static Dictionary<string, int> ByType(ServiceCollection services) => services
            .Where(d => d.ServiceType != typeof(IConfigureOptions<QrCallingOptions>) && d.ServiceType != typeof(IConfigureOptions<QrCallingHostingOptions>)
                && d.ServiceType.ToString() != "Microsoft.Extensions.Options.IConfigureOptions`1[Microsoft.Extensions.Options.StartupValidatorOptions]")
            .GroupBy(d => d.ServiceType.ToString()).ToDictionary(g => g.Key, g => g.Count());
        var extra = ByType(thrice).Where(kv => !ByType(once).TryGetValue(kv.Key, out var n) || n != kv.Value).Select(kv => $"{kv.Key} x{kv.Value}");

        Assert.True(!extra.Any(), string.Join("\n", extra));
        Assert.Equal(1, thrice.Count(d => d.ServiceType == typeof(IConfigureOptions<QrCallingOptions>)) - once.Count(d => d.ServiceType == typeof(IConfigureOptions<QrCallingOptions>)));
    }
}
