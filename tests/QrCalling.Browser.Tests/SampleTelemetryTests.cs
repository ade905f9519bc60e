using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Configuration;
using QrCalling.SampleHost;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 13: the sample host's OpenTelemetry exporter, off by default, a Prometheus scrape endpoint when
/// configured, and bad settings refused at start-up with one line naming the key.</summary>
public sealed class SampleTelemetryTests
{
    [Fact]
    public async Task Metrics_NotConfigured_IsNotServed()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };

        var response = await http.GetAsync("/metrics");

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Metrics_PrometheusOn_ServesQrCallingInstrumentsWithoutIdentifiers()
    {
        await using var server = await SampleHostServer.StartAsync("--QrCalling:Sample:Telemetry:Prometheus=true");
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var code = await (await owner.PostAsJsonAsync("/api/v1/codes", new { label = "Metrics van" })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var payload = code.GetProperty("payload").GetString()!;
        using var anyone = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        (await anyone.PostAsJsonAsync("/api/v1/scan", new { payload })).EnsureSuccessStatusCode();
        var started = await (await anyone.PostAsJsonAsync("/api/v1/calls", new { payload, media = "audio" })).Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();

        // The exporter collects on scrape; a counter appears once it has a value.
        string text = "";
        for (var attempt = 0; attempt < 50 && !text.Contains("qrcalling_calls_started", StringComparison.Ordinal); attempt++)
        {
            var response = await anyone.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            text = await response.Content.ReadAsStringAsync();
            if (!text.Contains("qrcalling_calls_started", StringComparison.Ordinal))
            {
                await Task.Delay(100);
            }
        }

        Assert.Contains("qrcalling_codes_issued", text, StringComparison.Ordinal);
        Assert.Contains("qrcalling_scans", text, StringComparison.Ordinal);
        Assert.Contains("qrcalling_calls_started", text, StringComparison.Ordinal);
        foreach (var secret in new[] { payload, payload.Split(':')[2], code.GetProperty("id").GetString()!, started.GetProperty("callId").GetString()!,
                     started.GetProperty("callerId").GetString()!, started.GetProperty("callToken").GetString()!, "Metrics van" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("--QrCalling:Sample:Telemetry:Prometheus=maybe", "QrCalling:Sample:Telemetry:Prometheus")]
    [InlineData("--QrCalling:Sample:Telemetry:OtlpEndpoint=collector:4317", "QrCalling:Sample:Telemetry:OtlpEndpoint")]
    [InlineData("--QrCalling:Sample:Telemetry:OtlpEndpoint=ftp://collector", "QrCalling:Sample:Telemetry:OtlpEndpoint")]
    [InlineData("--QrCalling:Sample:Telemetry:OtlpProtocol=carrier-pigeon", "QrCalling:Sample:Telemetry:OtlpProtocol")]
    public async Task Start_BadTelemetrySetting_PrintsOneLineNamingTheKeyAndExits1(string setting, string expected)
    {
        using var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var exitCode = await SampleHostApp.RunAsync(["--urls=http://127.0.0.1:0", "--Logging:LogLevel:Default=None", setting], error, timeout.Token);

        var lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(1, exitCode);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void From_OtlpHttp_ReadsEndpointAndProtocol()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["QrCalling:Sample:Telemetry:OtlpEndpoint"] = "http://collector:4318/v1/metrics",
            ["QrCalling:Sample:Telemetry:OtlpProtocol"] = "http",
        }).Build();

        var telemetry = SampleTelemetry.From(configuration);

        Assert.True(telemetry.Enabled);
        Assert.False(telemetry.Prometheus);
        Assert.Equal(new Uri("http://collector:4318/v1/metrics"), telemetry.OtlpEndpoint);
        Assert.Equal(OpenTelemetry.Exporter.OtlpExportProtocol.HttpProtobuf, telemetry.OtlpProtocol);
        Assert.False(SampleTelemetry.From(new ConfigurationBuilder().Build()).Enabled);
    }
}
