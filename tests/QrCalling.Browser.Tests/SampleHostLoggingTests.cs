using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
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
        await using var app = SampleHostApp.Build(
            ["--urls=http://127.0.0.1:0", $"--contentRoot={TestPaths.SampleHostContentRoot}", "--environment=Production",
             "--QrCalling:PublicBaseUrl=http://127.0.0.1/c"],
            builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

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
}
