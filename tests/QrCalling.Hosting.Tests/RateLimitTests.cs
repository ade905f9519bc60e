using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class RateLimitTests
{
    [Fact]
    public async Task Scan_GuessingCodesPastBudget_Gets429AcrossNewClients()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.ScansPerClient = 5);
        for (var i = 0; i < 5; i++)
        {
            var response = await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload = CodePayload.Format(CodeToken.New()) }));
            await response.AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        }
        foreach (var client in new[] { host.Client(), host.Client(), host.Client(owner: "mallory") })
        {
            var limited = await client.PostAsync("/api/v1/scan", Http.Json(new { payload = CodePayload.Format(CodeToken.New()) }));
            await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
            Assert.Equal("nosniff", limited.Headers.GetValues("X-Content-Type-Options").Single());
        }
        // Other endpoints keep their own budgets.
        Assert.Equal(HttpStatusCode.OK, (await host.Client(owner: "alice").GetAsync("/api/v1/codes")).StatusCode);
        Assert.DoesNotContain("127.0.0.1", host.Logs.AllText);
    }

    [Fact]
    public async Task StartCall_FloodOnOneCode_StopsRingingAfterPerCodeBudget()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.CallsPerClient = 3;
            o.RateLimits.CallsPerCode = 3;
        });
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var other = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice");
        for (var i = 0; i < 3; i++)
        {
            await host.Client(remoteIp: $"198.51.100.{i + 1}").StartCallAsync(payload, "audio");
        }
        // The link form of the same code shares its budget, also from a fresh client: past it a caller must show a
        // proof of work (ProofOfWorkTests), so a flood without one stops ringing the owner.
        var flooded = await host.Client(remoteIp: "198.51.100.9").PostAsync("/api/v1/calls",
            Http.Json(new { payload = "https://x.example/c#" + payload.ToLowerInvariant(), media = "audio" }));
        await flooded.AssertProblemAsync(HttpStatusCode.TooManyRequests, "proof_required");
        await host.Client(remoteIp: "198.51.100.10").StartCallAsync(other, "audio");
        var deadline = Environment.TickCount64 + 5000;
        while (device.Of("IncomingCall").Count() < 4 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(4, device.Of("IncomingCall").Count());
    }

    [Fact]
    public async Task StartCall_OneClientSpendsItsBudgetWithFailedStarts_CodeStillRingsForOthers()
    {
        await using var host = await TestHost.StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync(new { label = "Door", media = new[] { "chat" } }))
            .GetProperty("payload").GetString()!;
        var flooder = host.Client(remoteIp: "203.0.113.7");
        var defaults = new QrCallingRateLimitOptions();
        for (var i = 0; i < defaults.CallsPerClient; i++)
        {
            var failed = await flooder.PostAsync("/api/v1/calls", Http.Json(new { payload, media = "video" }));
            Assert.NotEqual(HttpStatusCode.Created, failed.StatusCode);
            Assert.NotEqual(HttpStatusCode.TooManyRequests, failed.StatusCode);
        }
        await (await flooder.PostAsync("/api/v1/calls", Http.Json(new { payload, media = "chat" }))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await host.Client(remoteIp: "203.0.113.8").StartCallAsync(payload, "chat");
    }

    [Fact]
    public async Task Scan_OtherIp_KeepsOwnBudgetButSameIpv6Prefix_SharesIt()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.ScansPerClient = 2);
        async Task<HttpResponseMessage> ScanAsync(string ip) =>
            await host.Client(remoteIp: ip).PostAsync("/api/v1/scan", Http.Json(new { payload = CodePayload.Format(CodeToken.New()) }));
        for (var i = 0; i < 2; i++)
        {
            await (await ScanAsync("2001:db8:1:2::1")).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        }
        await (await ScanAsync("2001:db8:1:2:ffff::9")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited"); // same /64
        await (await ScanAsync("2001:db8:1:3::1")).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable"); // another /64
        await (await ScanAsync("192.0.2.1")).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        await (await ScanAsync("192.0.2.2")).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
    }

    [Fact]
    public async Task StartCall_PerClientBudget_Gets429()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.CallsPerClient = 2);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        await host.Client().StartCallAsync(payload, "audio");
        await host.Client().StartCallAsync(payload, "audio");
        var limited = await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload, media = "audio" }));
        await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
    }

    [Fact]
    public async Task HubMethods_PastBudget_RateLimitedEvenAfterReconnect()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.HubBurst = 5;
            o.RateLimits.HubPerSecond = 1;
            o.RateLimits.HubReplenishmentPeriod = TimeSpan.FromHours(1); // no refill while the test runs
        });
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "chat");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        string? code = null;
        for (var i = 0; i < 10 && code is null; i++)
        {
            try
            {
                await caller.Connection.InvokeAsync("Typing", callId, true);
            }
            catch (HubException ex) when (HubErrors.CodeOf(ex.Message) == "rate_limited")
            {
                code = "rate_limited";
            }
        }
        Assert.Equal("rate_limited", code);
        await caller.Connection.StopAsync();
        // The same call's budget is spent, so the reconnect itself is refused, over either transport.
        foreach (var transport in new[] { HttpTransportType.LongPolling, HttpTransportType.WebSockets })
        {
            var again = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(transport, callToken: token));
            Assert.Contains("HubException: rate_limited: ", again.Message);
        }
    }

    [Fact]
    public async Task HubConnect_ReconnectLoopPastBudget_Refused()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.HubBurst = 6;
            o.RateLimits.HubReplenishmentPeriod = TimeSpan.FromHours(1);
        });
        // Each connection costs one hub call, and the test client's ready-probe (a refused Resume) one more.
        for (var i = 0; i < 3; i++)
        {
            var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
            await device.Connection.StopAsync();
        }
        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone"));
        Assert.Contains("HubException: rate_limited: ", refused.Message);
        // Another owner keeps its own budget.
        await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob");
    }
}
