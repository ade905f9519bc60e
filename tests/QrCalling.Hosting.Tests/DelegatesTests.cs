using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Issue 14, delegates: an owner invites another account to answer a code; a call still ringing after the
/// delegate's delay rings the delegate's devices too (real SignalR clients of two accounts), first accept wins across
/// both accounts, and the caller learns nothing.</summary>
public sealed class DelegatesTests
{
    private static async Task<string> InviteAsync(HttpClient owner, string codeId, int? ringAfterSeconds = 10)
    {
        var response = await owner.PostAsync($"/api/v1/codes/{codeId}/delegates/invitations",
            ringAfterSeconds is null ? null : Http.Json(new { ringAfterSeconds }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.ReadJsonAsync();
        var payload = body.GetProperty("invitationPayload").GetString()!;
        Assert.Matches("^qdi_[A-Za-z0-9_-]{43}$", payload);
        Assert.Equal("http://localhost/delegate#" + payload, body.GetProperty("link").GetString());
        Assert.StartsWith("data:image/svg+xml;base64,", body.GetProperty("qrCode").GetString());
        return payload;
    }

    private static async Task<(JsonElement Code, string DelegateId)> SetUpAsync(TestHost host, int ringAfterSeconds = 10)
    {
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync();
        var payload = await InviteAsync(alice, code.GetProperty("id").GetString()!, ringAfterSeconds);
        var accepted = await host.Client(owner: "bob").PostAsync("/api/v1/delegates/accept", Http.Json(new { invitationPayload = payload }));
        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        var delegation = await accepted.ReadJsonAsync();
        Assert.Equal(ringAfterSeconds, delegation.GetProperty("ringAfterSeconds").GetInt32());
        return (code, delegation.GetProperty("delegateId").GetString()!);
    }

    /// <summary>Runs one sweep (the sweep rings due delegates) and waits for it.</summary>
    private static Task SweepAsync(TestHost host) =>
        host.App.Services.GetRequiredService<QrCalling.Calls.CallService>().SweepAsync(CancellationToken.None).AsTask();

    [Fact]
    public async Task Delegates_OwnerNeverAnswers_DelegateIsRungAfterTheDelay_AndAccepts_OwnerDevicesStopRinging()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromHours(1), time: time);
        var (code, _) = await SetUpAsync(host);
        var aliceDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "alice-phone");
        var bobDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-phone");

        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        await aliceDevice.WaitForAsync("IncomingCall");

        time.Advance(TimeSpan.FromSeconds(9));
        await SweepAsync(host);
        Assert.Empty(bobDevice.Of("IncomingCall"));

        time.Advance(TimeSpan.FromSeconds(1));
        await SweepAsync(host);
        var incoming = await bobDevice.WaitForAsync("IncomingCall");
        Assert.Equal(callId, incoming.GetProperty("callId").GetString());
        Assert.Equal(code.GetProperty("label").GetString(), incoming.GetProperty("label").GetString());
        await SweepAsync(host); // rung once only
        Assert.Single(bobDevice.Of("IncomingCall"));

        // The caller parked an offer while ringing: the delegate's device gets it on accept, as an owner device would.
        await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", JsonSerializer.SerializeToElement(new { sdp = "v=0" }));
        await bobDevice.Connection.InvokeAsync("Accept", callId);
        await bobDevice.WaitForAsync("CallAccepted");
        await caller.WaitForAsync("CallAccepted");
        await aliceDevice.WaitForAsync("CallAnsweredElsewhere");
        var offer = await bobDevice.WaitForAsync("Signal");
        Assert.Equal("offer", offer.GetProperty("type").GetString());
        Assert.Empty(bobDevice.Of("CallAnsweredElsewhere"));

        // The delegate's device is the callee now: signals both ways, then its hang-up ends the call for the caller.
        await bobDevice.Connection.InvokeAsync<long>("Signal", callId, "answer", JsonSerializer.SerializeToElement(new { sdp = "v=0" }));
        Assert.Equal("answer", (await caller.WaitForAsync("Signal")).GetProperty("type").GetString());
        var refused = await Assert.ThrowsAsync<HubException>(() => aliceDevice.Connection.InvokeAsync<long>("Signal", callId, "answer",
            JsonSerializer.SerializeToElement(new { sdp = "v=0" })));
        Assert.Contains("HubException: not_participant:", refused.Message);
        await bobDevice.Connection.InvokeAsync("Hangup", callId);
        Assert.Equal("hangup", (await caller.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        Assert.Equal("hangup", (await bobDevice.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Delegates_DelegateDeviceConnectingAfterItWasRung_GetsIncomingCall_AndAccepts()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromHours(1), time: time);
        var (code, _) = await SetUpAsync(host);
        var bobPhone = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-phone");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        time.Advance(TimeSpan.FromSeconds(10));
        await SweepAsync(host);
        await bobPhone.WaitForAsync("IncomingCall");

        // Bob's laptop opens the page only now: it rings for the call too (as an owner's device would), and answers it.
        var bobLaptop = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-laptop");
        var incoming = await bobLaptop.WaitForAsync("IncomingCall");
        Assert.Equal(callId, incoming.GetProperty("callId").GetString());
        Assert.Equal(code.GetProperty("label").GetString(), incoming.GetProperty("label").GetString());
        await bobLaptop.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");
        await bobPhone.WaitForAsync("CallAnsweredElsewhere");

        // A device of Bob's that connects once the call was answered rings for nothing.
        var bobTablet = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-tablet");
        await bobTablet.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L).ContinueWith(_ => { }, TaskScheduler.Default); // a round trip
        Assert.Empty(bobTablet.Of("IncomingCall"));
    }

    [Fact]
    public async Task Delegates_OwnerAnswersFirst_DelegateIsNeverRung_AndAStrangerCannotAccept()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromHours(1), time: time);
        var (code, _) = await SetUpAsync(host);
        var aliceDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "alice-phone");
        var bobDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-phone");
        var carol = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "carol", deviceId: "carol-phone");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;

        // Before the delay, the delegate is no participant either.
        var early = await Assert.ThrowsAsync<HubException>(() => bobDevice.Connection.InvokeAsync("Accept", callId));
        Assert.Contains("HubException: not_participant:", early.Message);
        time.Advance(TimeSpan.FromSeconds(5));
        await aliceDevice.Connection.InvokeAsync("Accept", callId);
        time.Advance(TimeSpan.FromSeconds(20));
        await SweepAsync(host);
        var stranger = await Assert.ThrowsAsync<HubException>(() => carol.Connection.InvokeAsync("Accept", callId));
        Assert.Contains("HubException: not_participant:", stranger.Message);
        await aliceDevice.Connection.InvokeAsync("Hangup", callId);
        await aliceDevice.WaitForAsync("CallEnded");
        Assert.Empty(bobDevice.Of("IncomingCall"));
        Assert.Empty(carol.Of("IncomingCall"));
    }

    [Fact]
    public async Task Delegates_OwnerAndDelegateAcceptAtOnce_ExactlyOneWins()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromHours(1), time: time);
        var (code, _) = await SetUpAsync(host, ringAfterSeconds: 0);
        for (var round = 0; round < 5; round++)
        {
            var aliceDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: $"alice-{round}");
            var bobDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: $"bob-{round}");
            var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
            var callId = started.GetProperty("callId").GetString()!;
            await SweepAsync(host);
            await bobDevice.WaitForAsync("IncomingCall");

            var results = await Task.WhenAll(
                Try(() => aliceDevice.Connection.InvokeAsync("Accept", callId)),
                Try(() => bobDevice.Connection.InvokeAsync("Accept", callId)));
            Assert.Single(results, r => r is null);
            Assert.Single(results, r => r is not null && r.Contains("HubException: invalid_state:", StringComparison.Ordinal));
            var call = await (await host.Client(owner: "alice").GetAsync($"/api/v1/calls/{callId}")).ReadJsonAsync();
            Assert.Equal("active", call.GetProperty("state").GetString());
            await (results[0] is null ? aliceDevice : bobDevice).Connection.InvokeAsync("Hangup", callId);
        }

        static async Task<string?> Try(Func<Task> accept)
        {
            try
            {
                await accept();
                return null;
            }
            catch (HubException e)
            {
                return e.Message;
            }
        }
    }

    [Fact]
    public async Task Delegates_RemovedOrLeft_IsNotRung_AndTheRoutesAnswerProblems()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await TestHost.StartAsync(core: o => o.SweepInterval = TimeSpan.FromHours(1), time: time);
        var alice = host.Client(owner: "alice");
        var bob = host.Client(owner: "bob");
        var (code, delegateId) = await SetUpAsync(host);
        var codeId = code.GetProperty("id").GetString()!;

        var listed = Assert.Single((await (await alice.GetAsync($"/api/v1/codes/{codeId}/delegates")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal(delegateId, listed.GetProperty("delegateId").GetString());
        Assert.DoesNotContain("bob", listed.GetRawText());
        var mine = Assert.Single((await (await bob.GetAsync("/api/v1/delegates")).ReadJsonAsync()).EnumerateArray());
        Assert.Equal(code.GetProperty("label").GetString(), mine.GetProperty("label").GetString());
        Assert.DoesNotContain("alice", mine.GetRawText());

        await (await host.Client(owner: "mallory").GetAsync($"/api/v1/codes/{codeId}/delegates")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client(owner: "mallory").DeleteAsync($"/api/v1/codes/{codeId}/delegates/{delegateId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client(owner: "mallory").DeleteAsync($"/api/v1/delegates/{delegateId}")).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await host.Client().GetAsync("/api/v1/delegates")).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        await (await alice.PostAsync($"/api/v1/codes/{codeId}/delegates/invitations", Http.Json(new { ringAfterSeconds = 30 })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.PostAsync($"/api/v1/codes/{codeId}/delegates/invitations", Http.Json(new { ringAfterSeconds = -1 })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await bob.PostAsync($"/api/v1/codes/{codeId}/delegates/invitations", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        // Self-delegation is refused without spending the invitation; used, expired, unknown and malformed answer alike.
        var own = await InviteAsync(alice, codeId, null);
        await (await alice.PostAsync("/api/v1/delegates/accept", Http.Json(new { invitationPayload = own }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(HttpStatusCode.Created, (await host.Client(owner: "dave").PostAsync("/api/v1/delegates/accept", Http.Json(new { invitationPayload = own }))).StatusCode);
        var expiring = await InviteAsync(alice, codeId);
        time.Advance(TimeSpan.FromMinutes(11));
        var bodies = new List<string>();
        foreach (var payload in new[] { own, expiring, "qdi_" + new string('A', 43), "nonsense" })
        {
            var answer = await host.Client(owner: "erin").PostAsync("/api/v1/delegates/accept", Http.Json(new { invitationPayload = payload }));
            Assert.Equal(HttpStatusCode.NotFound, answer.StatusCode);
            bodies.Add(await answer.Content.ReadAsStringAsync());
        }
        Assert.Single(bodies.Distinct());
        Assert.Contains("\"code\":\"invitation_unavailable\"", bodies[0]);

        // Bob is removed, Dave leaves: a call that rings on is rung to nobody else.
        Assert.Equal(HttpStatusCode.NoContent, (await alice.DeleteAsync($"/api/v1/codes/{codeId}/delegates/{delegateId}")).StatusCode);
        var daveId = Assert.Single((await (await host.Client(owner: "dave").GetAsync("/api/v1/delegates")).ReadJsonAsync()).EnumerateArray()).GetProperty("delegateId").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client(owner: "dave").DeleteAsync($"/api/v1/delegates/{daveId}")).StatusCode);
        Assert.Empty((await (await alice.GetAsync($"/api/v1/codes/{codeId}/delegates")).ReadJsonAsync()).EnumerateArray());
        var bobDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-phone");
        var daveDevice = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "dave", deviceId: "dave-phone");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        time.Advance(TimeSpan.FromSeconds(15));
        await SweepAsync(host);
        var refused = await Assert.ThrowsAsync<HubException>(() => bobDevice.Connection.InvokeAsync("Accept", started.GetProperty("callId").GetString()));
        Assert.Contains("HubException: not_participant:", refused.Message);
        Assert.Empty(bobDevice.Of("IncomingCall"));
        Assert.Empty(daveDevice.Of("IncomingCall"));
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("qdi_", StringComparison.Ordinal) || l.Contains("\"bob\"", StringComparison.Ordinal));
    }
}
