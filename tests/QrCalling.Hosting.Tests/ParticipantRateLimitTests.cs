using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Hosting.Internal;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Limits of the participant endpoints and of call-token attempts (REST and hub).</summary>
public sealed class ParticipantRateLimitTests
{
    private static string RandomCallToken() => "qct_" + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static async Task<(string CallId, string Token)> StartCallAsync(TestHost host, string payload)
    {
        var started = await host.Client().StartCallAsync(payload, "audio");
        return (started.GetProperty("callId").GetString()!, started.GetProperty("callToken").GetString()!);
    }

    [Fact]
    public async Task ParticipantEndpoints_PastPerCallBudget_Get429OnlyForThatCall()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.RequestsPerParticipant = 4);
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var (callId, token) = await StartCallAsync(host, payload);
        var (otherCallId, otherToken) = await StartCallAsync(host, payload);
        var caller = host.Client(bearer: token);

        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync($"/api/v1/calls/{callId}/events?after=0")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await caller.PostAsync($"/api/v1/calls/{callId}/events",
            Http.Json(new { type = "offer", data = new { sdp = "v=0" } }))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync("/api/v1/ice-servers")).StatusCode);
        foreach (var route in new[] { $"/api/v1/calls/{callId}", $"/api/v1/calls/{callId}/events", "/api/v1/ice-servers" })
        {
            var limited = await caller.GetAsync(route);
            await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
            Assert.Equal("nosniff", limited.Headers.GetValues("X-Content-Type-Options").Single());
        }

        // Another call from the same client, and the owner, keep their own budgets.
        Assert.Equal(HttpStatusCode.OK, (await host.Client(bearer: otherToken).GetAsync($"/api/v1/calls/{otherCallId}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        Assert.DoesNotContain(token, host.Logs.AllText);
    }

    [Fact]
    public async Task UnknownCallTokens_PastClientBudget_RateLimitedButValidTokenStillAdmittedOnRestAndHub()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.FailedAttemptsPerClient = 3);
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var (callId, token) = await StartCallAsync(host, payload);

        // Two guesses on REST and one on the hub spend the budget.
        for (var i = 0; i < 2; i++)
        {
            await (await host.Client(bearer: RandomCallToken()).GetAsync($"/api/v1/calls/{callId}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        }
        var guess = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, callToken: RandomCallToken()));
        Assert.Contains("HubException: unauthorized: ", guess.Message);

        // Now the guesser's unknown tokens get rate_limited, on REST and on the hub.
        await (await host.Client(bearer: RandomCallToken()).GetAsync($"/api/v1/calls/{callId}/events")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        var limited = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(HttpTransportType.WebSockets, callToken: RandomCallToken()));
        Assert.Contains("HubException: rate_limited: ", limited.Message);
        var limitedDirect = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            host.ConnectAsync(HttpTransportType.WebSockets, callToken: RandomCallToken(), skipNegotiation: true));
        Assert.Contains("HubException: rate_limited: ", limitedDirect.Message);

        // A real caller behind the same address (carrier NAT, public Wi-Fi) is still admitted, on REST and on the hub.
        Assert.Equal(HttpStatusCode.OK, (await host.Client(bearer: token).GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await host.ConnectAsync(HttpTransportType.LongPolling, callToken: token);

        // Another address keeps its own budget: its guess is only unauthorized. Owners are not affected.
        await (await host.Client(bearer: RandomCallToken(), remoteIp: "192.0.2.50").GetAsync($"/api/v1/calls/{callId}"))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync($"/api/v1/calls/{callId}")).StatusCode);
        await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice");
    }

    [Fact]
    public async Task AnonymousParticipantRequests_PastClientBudget_Get429()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.FailedAttemptsPerClient = 2);
        var anonymous = host.Client();
        for (var i = 0; i < 2; i++)
        {
            await (await anonymous.GetAsync("/api/v1/ice-servers")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        }
        await (await anonymous.GetAsync("/api/v1/calls/call_x")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.OK, (await host.Client(owner: "alice").GetAsync("/api/v1/ice-servers")).StatusCode);
    }

    [Fact]
    public async Task LongPolls_PastConcurrentCapPerCall_Get429AndSlotsFreeWhenTheyReturn()
    {
        await using var host = await TestHost.StartAsync(hosting: o => o.RateLimits.LongPollsPerCall = 2);
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var (callId, token) = await StartCallAsync(host, payload);
        var caller = host.Client(bearer: token);
        var limiter = host.App.Services.GetRequiredService<LongPollLimiter>();
        var key = LongPollLimiter.KeyOf(CallActor.Caller(callId), callId);

        var polls = new[]
        {
            caller.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=20"),
            caller.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=20"),
        };
        var deadline = Environment.TickCount64 + 10_000;
        while (limiter.Available(key) != 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Equal(0, limiter.Available(key));
        await (await caller.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=20")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync($"/api/v1/calls/{callId}/events?after=0")).StatusCode); // no wait, no slot
        Assert.All(polls, p => Assert.False(p.IsCompleted));

        // The device accepts: both polls wake with the call-accepted entry and give their slots back.
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);
        foreach (var poll in polls)
        {
            var entries = await (await poll.WaitAsync(TimeSpan.FromSeconds(10))).ReadJsonAsync();
            Assert.Equal("call-accepted", Assert.Single(entries.EnumerateArray()).GetProperty("type").GetString());
        }
        var again = await caller.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=20");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task RestOnlyCall_HundredsOfSignalsUnderDefaultLimits_NeverRateLimited()
    {
        await using var host = await TestHost.StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var (callId, token) = await StartCallAsync(host, payload);
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);
        var caller = host.Client(bearer: token);

        // The caller posts 150 signals and reads its mailbox after each, as a REST-only client does.
        long after = 0;
        for (var i = 0; i < 150; i++)
        {
            var posted = await caller.PostAsync($"/api/v1/calls/{callId}/events",
                Http.Json(new { type = "ice-candidate", data = new { candidate = "candidate:" + i, sdpMid = "0" } }));
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
            var read = await caller.GetAsync($"/api/v1/calls/{callId}/events?after={after}&waitSeconds=0");
            Assert.Equal(HttpStatusCode.OK, read.StatusCode);
            foreach (var e in (await read.ReadJsonAsync()).EnumerateArray())
            {
                after = Math.Max(after, e.GetProperty("seq").GetInt64());
            }
        }
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync("/api/v1/ice-servers")).StatusCode);
        var resumed = await device.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.Equal(150, resumed.EnumerateArray().Count(e => e.GetProperty("type").GetString() == "ice-candidate"));
    }
}
