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
            o.RateLimits.CallsPerClient = 100;
            o.RateLimits.CallsPerCode = 3;
        });
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var other = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice");
        for (var i = 0; i < 3; i++)
        {
            await host.Client().StartCallAsync(payload, "audio");
        }
        // The link form of the same code shares its budget.
        var flooded = await host.Client().PostAsync("/api/v1/calls", Http.Json(new { payload = "https://x.example/c#" + payload.ToLowerInvariant(), media = "audio" }));
        await flooded.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await host.Client().StartCallAsync(other, "audio");
        var deadline = Environment.TickCount64 + 5000;
        while (device.Of("IncomingCall").Count() < 4 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(4, device.Of("IncomingCall").Count());
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
        var again = await host.ConnectAsync(HttpTransportType.LongPolling, callToken: token);
        var limited = await Assert.ThrowsAsync<HubException>(() => again.Connection.InvokeAsync("Typing", callId, false));
        Assert.Equal("rate_limited", HubErrors.CodeOf(limited.Message));
    }
}
