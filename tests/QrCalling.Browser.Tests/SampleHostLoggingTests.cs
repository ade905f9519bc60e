using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using System.Net.Http.Json;
using System.Text.Json;
using QrCalling.SampleHost;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>The sample host's own appsettings.json (not a test override) decides what it logs.</summary>
public sealed class SampleHostLoggingTests
{
    [Fact]
    public async Task DefaultSettings_Requests_WriteNoFrameworkLinesBelowWarningButKeepQrCallingAndLifetime()
    {
        var logs = new CapturingLoggerProvider();
        await using var app = await StartAsync(logs);
        using var http = new HttpClient { BaseAddress = AddressOf(app) };

        for (var i = 0; i < 5; i++)
        {
            (await http.GetAsync("/")).EnsureSuccessStatusCode();
            await http.PostAsync("/api/v1/scan", new StringContent("""{"payload":"nope"}""", System.Text.Encoding.UTF8, "application/json"));
            await http.GetAsync("/health/ready");
        }
        await app.StopAsync();

        var lines = logs.Lines;
        Assert.DoesNotContain(lines, l => l.StartsWith("Information Microsoft.AspNetCore", StringComparison.Ordinal)
            || l.StartsWith("Debug Microsoft.AspNetCore", StringComparison.Ordinal) || l.StartsWith("Trace ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("Information Microsoft.Hosting.Lifetime", StringComparison.Ordinal));
        Assert.True(lines.Count < 15, $"{lines.Count} lines for 15 requests:\n{string.Join('\n', lines)}");
    }

    /// <summary>SignalR writes an Error with a stack trace for every invocation or connection a hub refuses; QrCalling's
    /// hubs log their own failures, so the sample quiets those two framework categories (docs/operations.md).</summary>
    [Fact]
    public async Task DefaultSettings_RefusedHubInvocationsAndConnections_WriteNoErrorLines()
    {
        var logs = new CapturingLoggerProvider();
        await using var app = await StartAsync(logs);
        var address = AddressOf(app);
        using var http = new HttpClient { BaseAddress = address };
        var name = "log" + Guid.NewGuid().ToString("N")[..12];
        (await http.PostAsJsonAsync("/api/v1/account/register", new { username = name, password = "password1" })).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", new { username = name, password = "password1" });
        var jwt = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;

        await using var owner = Hub(address, SampleHostApp.HubPath + "?deviceId=phone&access_token=" + jwt);
        await owner.StartAsync();
        for (var i = 0; i < 5; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => owner.InvokeAsync("Accept", "not a call id"));
            Assert.Contains("HubException: invalid_request", refused.Message, StringComparison.Ordinal);
        }
        Assert.Equal(HubConnectionState.Connected, owner.State);
        foreach (var path in new[] { SampleHostApp.HubPath + "?access_token=qct_" + new string('A', 43), "/hubs/rooms?access_token=qht_unknown" })
        {
            await using var stranger = Hub(address, path);
            var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            stranger.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
            try
            {
                await stranger.StartAsync();
            }
            catch (Exception ex)
            {
                closed.TrySetResult(ex);
            }
            Assert.Contains("unauthorized", (await closed.Task.WaitAsync(TimeSpan.FromSeconds(10)))?.Message ?? "", StringComparison.Ordinal);
        }
        await owner.StopAsync();
        await app.StopAsync();

        var errors = logs.Lines.Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join('\n', errors.Select(l => l.Split('\n')[0])));
    }

    /// <summary>The sample host as it ships (its own appsettings.json, Production) on a free loopback port, logging into
    /// <paramref name="logs"/> too.</summary>
    private static async Task<WebApplication> StartAsync(CapturingLoggerProvider logs)
    {
        var app = SampleHostApp.Build(
            ["--urls=http://127.0.0.1:0", $"--contentRoot={TestPaths.SampleHostContentRoot}", "--environment=Production",
             "--QrCalling:PublicBaseUrl=http://127.0.0.1/c"],
            builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        return app;
    }

    private static Uri AddressOf(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    private static HubConnection Hub(Uri address, string pathAndQuery) => new HubConnectionBuilder()
        .WithUrl(new Uri(address, pathAndQuery), o => { o.Transports = HttpTransportType.WebSockets; o.SkipNegotiation = true; })
        .Build();
}
