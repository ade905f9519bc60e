using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Hosting.Internal;
using QrCalling.Storage;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 13: one code, pause and resume, list filters, call control without sockets (REST accept, reject and
/// hangup, REST presence, <c>GET /calls?state=</c>) and the readiness report.</summary>
public sealed class OwnerOpsTests
{
    private static async Task<(string Id, string Payload)> IssueAsync(HttpClient owner, string label = "Front door")
    {
        var code = await owner.IssueCodeAsync(new { label });
        return (code.GetProperty("id").GetString()!, code.GetProperty("payload").GetString()!);
    }

    private static async Task<(HttpStatusCode Status, string ContentType, string Body)> AnswerAsync(HttpResponseMessage response) =>
        (response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync());

    [Fact]
    public async Task GetCode_OwnersCode_ReturnsListItemShapeAndOthersGet404()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (id, _) = await IssueAsync(alice, "Blue van");

        var response = await alice.GetAsync($"/api/v1/codes/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.ReadJsonAsync();
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("Blue van", body.GetProperty("label").GetString());
        Assert.Equal("active", body.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("pausedAt").ValueKind);
        Assert.Equal(0, body.GetProperty("scanCount").GetInt32());
        await (await host.Client(owner: "bob").GetAsync($"/api/v1/codes/{id}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.GetAsync("/api/v1/codes/c_unknown")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.GetAsync("/api/v1/codes/bad%20id!")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().GetAsync($"/api/v1/codes/{id}")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task Pause_ScanAndCallStart_AnswerExactlyAsAnUnknownCodeUntilResumed()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (id, payload) = await IssueAsync(alice);
        var unknown = CodePayload.Format(CodeToken.New());
        var anyone = host.Client();

        var pause = await alice.PostAsync($"/api/v1/codes/{id}/pause", null);

        Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        var paused = await pause.ReadJsonAsync();
        Assert.Equal("paused", paused.GetProperty("state").GetString());
        Assert.NotEqual(JsonValueKind.Null, paused.GetProperty("pausedAt").ValueKind);
        var pausedScan = await AnswerAsync(await anyone.PostAsync("/api/v1/scan", Http.Json(new { payload })));
        var unknownScan = await AnswerAsync(await anyone.PostAsync("/api/v1/scan", Http.Json(new { payload = unknown })));
        Assert.Equal(HttpStatusCode.NotFound, pausedScan.Status);
        Assert.Equal(unknownScan, pausedScan);
        var pausedCall = await AnswerAsync(await anyone.PostAsync("/api/v1/calls", Http.Json(new { payload, media = "audio" })));
        var unknownCall = await AnswerAsync(await anyone.PostAsync("/api/v1/calls", Http.Json(new { payload = unknown, media = "audio" })));
        Assert.Equal(unknownCall, pausedCall);
        Assert.Equal(0, (await (await alice.GetAsync($"/api/v1/codes/{id}")).ReadJsonAsync()).GetProperty("scanCount").GetInt32());

        var resume = await alice.PostAsync($"/api/v1/codes/{id}/resume", null);

        Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        Assert.Equal("active", (await resume.ReadJsonAsync()).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.OK, (await anyone.PostAsync("/api/v1/scan", Http.Json(new { payload }))).StatusCode);
        await anyone.StartCallAsync(payload, "audio");
    }

    [Fact]
    public async Task Pause_OtherOwnersOrUnknownCode_Is404AndChangesNothing()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (id, payload) = await IssueAsync(alice);

        await (await host.Client(owner: "bob").PostAsync($"/api/v1/codes/{id}/pause", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.PostAsync("/api/v1/codes/c_nothing/pause", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await alice.PostAsync("/api/v1/codes/c_nothing/resume", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().PostAsync($"/api/v1/codes/{id}/pause", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        Assert.Equal(HttpStatusCode.OK, (await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload }))).StatusCode);
    }

    [Fact]
    public async Task ListCodes_StateAndLabelFilters_ReturnOnlyMatchingCodesAndBadStateIs400()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (van, _) = await IssueAsync(alice, "Blue VAN");
        var (gate, _) = await IssueAsync(alice, "Gate");
        var (door, _) = await IssueAsync(alice, "Door");
        await alice.PostAsync($"/api/v1/codes/{gate}/pause", null);
        await alice.PostAsync($"/api/v1/codes/{door}/revoke", null);

        async Task<string[]> IdsAsync(string query) =>
            [.. (await (await alice.GetAsync("/api/v1/codes" + query)).ReadJsonAsync()).EnumerateArray().Select(c => c.GetProperty("id").GetString()!)];

        Assert.Equal([gate], await IdsAsync("?state=paused"));
        Assert.Equal([van], await IdsAsync("?state=active"));
        Assert.Equal([door], await IdsAsync("?state=revoked"));
        Assert.Equal([van], await IdsAsync("?label=van"));
        Assert.Empty(await IdsAsync("?label=van&state=paused"));
        Assert.Equal([door, gate, van], await IdsAsync(""));
        Assert.Equal([door], await IdsAsync("?limit=1"));
        var all = await (await alice.GetAsync("/api/v1/codes")).ReadJsonAsync();
        Assert.Equal(["revoked", "paused", "active"], all.EnumerateArray().Select(c => c.GetProperty("state").GetString()));
        await (await alice.GetAsync("/api/v1/codes?state=asleep")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.GetAsync("/api/v1/codes?label=" + new string('x', 201))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task RestAccept_ByOwner_CallerHearsCallAcceptedAndOtherDeviceAnsweredElsewhere()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var tablet = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "tablet");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        await tablet.WaitForAsync("IncomingCall");

        var accepted = await alice.PostAsync($"/api/v1/calls/{callId}/accept?deviceId=rest-phone", null);

        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        var body = await accepted.ReadJsonAsync();
        Assert.Equal("active", body.GetProperty("state").GetString());
        await caller.WaitForAsync("CallAccepted");
        await tablet.WaitForAsync("CallAnsweredElsewhere");
        var active = await (await alice.GetAsync("/api/v1/calls?state=active")).ReadJsonAsync();
        Assert.Equal([callId], active.EnumerateArray().Select(c => c.GetProperty("callId").GetString()));
        Assert.Empty((await (await alice.GetAsync("/api/v1/calls?state=ringing")).ReadJsonAsync()).EnumerateArray());
        // The accepting REST device reads the mailbox like a hub device would.
        var events = await (await alice.GetAsync($"/api/v1/calls/{callId}/events?deviceId=rest-phone")).ReadJsonAsync();
        Assert.Contains(events.EnumerateArray(), e => e.GetProperty("type").GetString() == "call-accepted");

        // The caller hangs up over REST: the device hears CallEnded, the call is ended and leaves the active list.
        var hangup = await host.Client(bearer: token).PostAsync($"/api/v1/calls/{callId}/hangup", null);

        Assert.Equal(HttpStatusCode.OK, hangup.StatusCode);
        var ended = await hangup.ReadJsonAsync();
        Assert.Equal(("ended", "hangup"), (ended.GetProperty("state").GetString(), ended.GetProperty("endReason").GetString()));
        await caller.WaitForAsync("CallEnded");
        Assert.Empty((await (await alice.GetAsync("/api/v1/calls?state=active")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal([callId], (await (await alice.GetAsync("/api/v1/calls?state=ended")).ReadJsonAsync()).EnumerateArray()
            .Select(c => c.GetProperty("callId").GetString()));
    }

    [Fact]
    public async Task RestReject_ByOwner_EndsRejectedAndCallerHearsIt()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString()!);

        var rejected = await alice.PostAsync($"/api/v1/calls/{callId}/reject", null);

        Assert.Equal(HttpStatusCode.OK, rejected.StatusCode);
        Assert.Equal("rejected", (await rejected.ReadJsonAsync()).GetProperty("endReason").GetString());
        var ended = await caller.WaitForAsync("CallEnded");
        Assert.Equal("rejected", ended.GetProperty("reason").GetString());
        await (await alice.PostAsync($"/api/v1/calls/{callId}/accept", null)).AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");
    }

    [Fact]
    public async Task RestControl_Refusals_UseTheHubsErrorCodes()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var callerHub = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);

        // A caller may not accept or reject: the REST code is the hub's.
        var hubError = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => callerHub.Connection.InvokeAsync("Accept", callId));
        var restAccept = await host.Client(bearer: token).PostAsync($"/api/v1/calls/{callId}/accept", null);
        var restBody = await restAccept.ReadJsonAsync();
        Assert.Equal(HubErrors.CodeOf(hubError.Message), restBody.GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, restAccept.StatusCode);
        await (await host.Client(bearer: token).PostAsync($"/api/v1/calls/{callId}/reject", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        // Another owner, an unknown call, no credentials, a malformed id.
        await (await host.Client(owner: "bob").PostAsync($"/api/v1/calls/{callId}/accept", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await alice.PostAsync("/api/v1/calls/call_unknown/accept", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await alice.PostAsync("/api/v1/calls/bad%20id!/hangup", null)).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await host.Client().PostAsync($"/api/v1/calls/{callId}/hangup", null)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await alice.GetAsync("/api/v1/calls?state=busy")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        // Still ringing after all of that.
        Assert.Equal("ringing", (await (await alice.GetAsync($"/api/v1/calls/{callId}")).ReadJsonAsync()).GetProperty("state").GetString());
    }

    [Fact]
    public async Task Accept_RestAndHubAtOnce_ExactlyOneDeviceWins()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var hubDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "hub-phone");
        for (var round = 0; round < 8; round++)
        {
            var started = await host.Client().StartCallAsync(payload, "audio");
            var callId = started.GetProperty("callId").GetString()!;
            await hubDevice.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == callId);
            using var start = new ManualResetEventSlim();

            var rest = Task.Run(async () =>
            {
                start.Wait();
                return await alice.PostAsync($"/api/v1/calls/{callId}/accept?deviceId=rest-phone", null);
            });
            var hub = Task.Run(async () =>
            {
                start.Wait();
                try
                {
                    await hubDevice.Connection.InvokeAsync("Accept", callId);
                    return (string?)null;
                }
                catch (Microsoft.AspNetCore.SignalR.HubException ex)
                {
                    return HubErrors.CodeOf(ex.Message);
                }
            });
            start.Set();
            var restResponse = await rest;
            var hubError = await hub;

            var restWon = restResponse.StatusCode == HttpStatusCode.OK;
            var hubWon = hubError is null;
            Assert.True(restWon ^ hubWon, $"round {round}: REST {restResponse.StatusCode}, hub {hubError ?? "won"}");
            if (restWon)
            {
                Assert.Equal("invalid_state", hubError);
                await hubDevice.WaitForAsync("CallAnsweredElsewhere", e => e.GetProperty("callId").GetString() == callId);
            }
            else
            {
                await restResponse.AssertProblemAsync(HttpStatusCode.Conflict, "invalid_state");
            }
            var record = await host.App.Services.GetRequiredService<IStorage>().Calls.GetAsync(callId, default);
            Assert.Equal(CallState.Active, record!.State);
            Assert.Equal(restWon ? "rest-phone" : "hub-phone", record.AcceptedDeviceId);
            await alice.PostAsync($"/api/v1/calls/{callId}/hangup?deviceId={record.AcceptedDeviceId}", null);
        }
    }

    [Fact]
    public async Task RestPresence_RestOnlyCallerStopsPolling_CallDropsAfterTheGraceAndPollingKeepsItAlive()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString()!);
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);
        var calls = host.App.Services.GetRequiredService<CallService>();
        var storage = host.App.Services.GetRequiredService<IStorage>();
        var timeout = new QrCallingHostingOptions().RestPresenceTimeout;
        var grace = new QrCallingOptions().ReconnectGrace;

        // Polling keeps the REST-only caller present, however long the call lasts.
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync($"/api/v1/calls/{callId}/events")).StatusCode);
            time.Advance(timeout / 2);
            await calls.SweepAsync(CancellationToken.None);
        }
        Assert.Null((await storage.Calls.GetAsync(callId, default))!.CallerGoneSince);
        Assert.Equal("active", (await (await caller.GetAsync($"/api/v1/calls/{callId}")).ReadJsonAsync()).GetProperty("state").GetString());

        // It stops polling: past the timeout it is gone (the device hears PeerLeft), past the grace the call drops.
        time.Advance(timeout + TimeSpan.FromSeconds(1));
        await device.WaitForAsync("PeerLeft");
        var deadline = Environment.TickCount64 + 10_000;
        while ((await storage.Calls.GetAsync(callId, default))!.CallerGoneSince is null && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.NotNull((await storage.Calls.GetAsync(callId, default))!.CallerGoneSince);
        time.Advance(grace + TimeSpan.FromSeconds(1));
        await calls.SweepAsync(CancellationToken.None);

        var ended = await device.WaitForAsync("CallEnded");
        Assert.Equal("dropped", ended.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task RestPresence_CallerPollsAgainBeforeTheGrace_IsPresentAgain()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var (_, payload) = await IssueAsync(alice);
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString()!);
        await device.WaitForAsync("IncomingCall");
        await device.Connection.InvokeAsync("Accept", callId);
        await caller.GetAsync($"/api/v1/calls/{callId}/events");
        var timeout = new QrCallingHostingOptions().RestPresenceTimeout;

        time.Advance(timeout + TimeSpan.FromSeconds(1));
        await device.WaitForAsync("PeerLeft");
        Assert.Equal(HttpStatusCode.OK, (await caller.GetAsync($"/api/v1/calls/{callId}/events")).StatusCode);

        await device.WaitForAsync("PeerJoined");
        var storage = host.App.Services.GetRequiredService<IStorage>();
        var deadline = Environment.TickCount64 + 10_000;
        while ((await storage.Calls.GetAsync(callId, default))!.CallerGoneSince is not null && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }
        Assert.Null((await storage.Calls.GetAsync(callId, default))!.CallerGoneSince);
        time.Advance(new QrCallingOptions().ReconnectGrace + TimeSpan.FromSeconds(1));
        await host.App.Services.GetRequiredService<CallService>().SweepAsync(CancellationToken.None);
        Assert.Empty(device.Of("CallEnded"));
    }

    [Fact]
    public async Task HealthReady_ReportsStorageUptimeAndCountsWithoutIdentifiers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var (codeId, payload) = await IssueAsync(alice);
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone-device-id");
        var ringing = await host.Client().StartCallAsync(payload, "audio");
        var answered = await host.Client().StartCallAsync(payload, "audio");
        var answeredId = answered.GetProperty("callId").GetString()!;
        await device.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == answeredId);
        await device.Connection.InvokeAsync("Accept", answeredId);
        time.Advance(TimeSpan.FromSeconds(20)); // less than the ring timeout: the first call still rings

        var response = await host.Client().GetAsync("/health/ready");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("healthy", body.GetProperty("status").GetString());
        Assert.Equal("healthy", body.GetProperty("storage").GetString());
        Assert.True(body.GetProperty("uptimeSeconds").GetInt64() >= 20);
        Assert.Equal(1, body.GetProperty("activeCalls").GetInt32());
        Assert.Equal(1, body.GetProperty("ringingCalls").GetInt32());
        Assert.Equal(1, body.GetProperty("connectedDevices").GetInt32());
        Assert.Equal(1, body.GetProperty("hubConnections").GetInt64());
        foreach (var secret in new[] { codeId, answeredId, ringing.GetProperty("callId").GetString()!, "alice", "phone-device-id",
                     answered.GetProperty("callerId").GetString()!, payload })
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(HttpStatusCode.OK, (await host.Client().GetAsync("/health/live")).StatusCode);
    }
}
