using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Privacy invariant 6 at every log level: a full call with every category at Trace leaves no SDP, candidate
/// IP, ciphertext, call token or payload in the logs.</summary>
public sealed class LogPrivacyTests
{
    private const string CandidateIp = "203.0.113.77";
    private const string SdpMarker = "a=fingerprint:sha-256 PRIVATE-SDP-91C2";
    private const string Ciphertext = "UFJJVkFURS1DSVBIRVJURVhULTQ0";

    private static async Task<(TestHost Host, string[] Secrets)> FullCallAsync(bool logHubTraffic)
    {
        var host = await TestHost.StartAsync(
            hosting: o => o.LogHubTraffic = logHubTraffic,
            configure: b =>
            {
                b.Logging.SetMinimumLevel(LogLevel.Trace);
                b.Logging.AddFilter("Microsoft", LogLevel.Trace);
                b.Logging.AddFilter("System", LogLevel.Trace);
            });
        var code = await host.Client(owner: "alice").IssueCodeAsync();
        var payload = code.GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", JsonSerializer.SerializeToElement(new { type = "offer", sdp = "v=0\r\n" + SdpMarker }));
        await device.Connection.InvokeAsync("Accept", callId);
        await device.Connection.InvokeAsync<long>("Signal", callId, "answer", JsonSerializer.SerializeToElement(new { type = "answer", sdp = "v=0\r\n" + SdpMarker }));
        await caller.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate",
            JsonSerializer.SerializeToElement(new { candidate = $"candidate:1 1 udp 2122260223 {CandidateIp} 51000 typ host", sdpMid = "0" }));
        await device.Connection.InvokeAsync<long>("Chat", callId, Ciphertext);
        await caller.WaitForAsync("Chat");
        await caller.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        await host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}/events?after=0");
        await caller.Connection.InvokeAsync("Hangup", callId);
        await device.WaitForAsync("CallEnded");
        return (host, [CandidateIp, SdpMarker, "PRIVATE-SDP", Ciphertext, token, payload, payload.ToLowerInvariant()]);
    }

    [Fact]
    public async Task FullCall_EveryCategoryAtTrace_LogsHoldNoSdpCandidateCiphertextTokenOrPayload()
    {
        var (host, secrets) = await FullCallAsync(logHubTraffic: false);
        await using var _ = host;

        var logs = host.Logs.AllText;
        Assert.Contains("Trace ", logs); // Trace was really on
        Assert.Contains("Debug Microsoft.AspNetCore", logs);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, logs);
        }
    }

    [Fact]
    public async Task FullCall_HostOptsIntoHubTraffic_SignalRsArgumentLogsComeThrough()
    {
        // The opt-in exists for debugging, and shows what the default keeps out (so the test above can fail).
        var (host, _) = await FullCallAsync(logHubTraffic: true);
        await using var _ = host;

        Assert.Contains(SdpMarker, host.Logs.AllText);
    }

    [Fact]
    public async Task WebPush_EveryCategoryAtTrace_LogsHoldNoEndpointPathKeysLabelOrCallToken()
    {
        await using var receiver = await PushReceiver.StartAsync();
        await using var host = await WebPushTests.StartHostAsync(receiver, configure: b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter("Microsoft", LogLevel.Trace);
            b.Logging.AddFilter("System", LogLevel.Trace);
        });
        var secrets = new List<string>();
        foreach (var status in new[] { 201, 410, 500 })
        {
            using var browser = new BrowserPushKeys();
            var id = "capability-" + Guid.NewGuid().ToString("N");
            receiver.Status[id] = status;
            var subscription = browser.Subscription(receiver.BaseUrl + "/push/" + id);
            await host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(subscription));
            var keys = JsonSerializer.SerializeToElement(subscription).GetProperty("keys");
            secrets.AddRange([id, keys.GetProperty("p256dh").GetString()!, keys.GetProperty("auth").GetString()!]);
        }

        const string Label = "Secret label 5F3A";
        var (callId, callToken, callerId) = await WebPushTests.RingAsync(host, "alice", Label);
        for (var i = 0; i < 3; i++)
        {
            await receiver.NextAsync();
        }
        var logs = host.Logs.AllText;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!(logs.Contains("answered 410", StringComparison.Ordinal) && logs.Contains("refused a push with 500", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
            logs = host.Logs.AllText;
        }

        Assert.Contains("Trace ", logs);
        Assert.Contains("Push service " + receiver.BaseUrl + " answered 410", logs); // the push path did log
        Assert.Contains("refused a push with 500", logs);
        foreach (var secret in secrets.Concat([Label, callToken, callerId, receiver.BaseUrl + "/push/"]))
        {
            Assert.DoesNotContain(secret, logs);
        }
        Assert.NotEmpty(callId);
    }
}
