using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class CallFlowTests
{
    private const string SdpMarker = "a=fingerprint:sha-256 SECRET-SDP-7F3A";
    private const string Ciphertext = "Q2lwaGVydGV4dC1TRUNSRVQtOTk=";

    /// <summary>Events for the device that accepted go to each of that device's connections (two tabs with one device
    /// id), and to no other device of the owner.</summary>
    [Fact]
    public async Task DeviceWithTwoConnections_BothGetTheCallersSignals_TheOtherDeviceNone()
    {
        await using var host = await TestHost.StartAsync();
        var tabOne = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var tabTwo = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var tablet = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "tablet");
        var (callId, callToken) = await CallAcceptedByAsync(host, host.Client(owner: "alice"), tabOne);
        await tablet.WaitForAsync("CallAnsweredElsewhere");

        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: callToken);
        var seqs = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            seqs.Add(await caller.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", JsonSerializer.SerializeToElement(new { candidate = "c" + i })));
        }
        foreach (var tab in new[] { tabOne, tabTwo })
        {
            await tab.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == seqs[^1]);
            Assert.Equal(seqs, tab.Of("Signal").Select(e => e.GetProperty("seq").GetInt64()));
        }
        Assert.Empty(tablet.Of("Signal"));
    }

    /// <summary>A signal's data reaches the other side as its sender wrote it (the spec's "data, unchanged"), byte for
    /// byte in a pushed event: escapes, HTML-sensitive and non-ASCII characters, number forms and spaces are not rewritten
    /// by the server's JSON writer. Resume and the long poll give the same JSON value.</summary>
    [Fact]
    public async Task SignalData_ReachesTheOtherSideAsTheSenderWroteIt_InEventsResumeAndTheLongPoll()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var (callId, callToken) = await CallAcceptedByAsync(host, alice, device);

        const string Data = """{"sdp":"v=0\r\na=x <b> & 'é' \u00e9 \"q\" \ud83d\ude00 \/","n":1.50,"e":1E2,"z":-0.0,"l":[ true , null ]}""";
        var caller = host.Client(bearer: callToken);
        var sent = await caller.PostAsync($"/api/v1/calls/{callId}/events", Http.Raw($$"""{"type":"offer","data":{{Data}}}"""));
        Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
        var seq = (await sent.ReadJsonAsync()).GetProperty("seq").GetInt64();

        var pushed = await device.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == seq);
        Assert.Equal(Data, pushed.GetProperty("data").GetRawText());
        // Read back from the store (which keeps the data in its own normalized JSON text): the same JSON value, and
        // still not escaped again by the server's writer (which would turn <b> & 'é' into \u003Cb\u003E \u0026 …).
        var resumed = await device.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        var polled = await (await alice.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=0&deviceId=phone")).ReadJsonAsync();
        using var sentData = JsonDocument.Parse(Data);
        foreach (var read in new[] { resumed, polled })
        {
            var data = Assert.Single(read.EnumerateArray(), e => e.GetProperty("seq").GetInt64() == seq).GetProperty("data");
            Assert.True(JsonElement.DeepEquals(sentData.RootElement, data), data.GetRawText());
            Assert.Contains("a=x <b> & 'é'", data.GetRawText());
        }
    }

    /// <summary>The owner issues a code, a caller starts a call on it, and <paramref name="device"/> accepts it when it
    /// rings there.</summary>
    private static async Task<(string CallId, string CallToken)> CallAcceptedByAsync(TestHost host, HttpClient owner, HubEventRecorder device)
    {
        var code = await owner.IssueCodeAsync();
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;
        await device.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == callId);
        await device.Connection.InvokeAsync("Accept", callId);
        return (callId, started.GetProperty("callToken").GetString()!);
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task MainFlow_TwoDevicesOneCaller_OnlyWinnerSignalsAndNothingLeaks(HttpTransportType transport)
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var anonymous = host.Client();

        // Owner issues a code; a caller scans it.
        var code = await alice.IssueCodeAsync(new { label = "Front door", media = new[] { "audio", "video", "chat" } });
        var payload = code.GetProperty("payload").GetString()!;
        var codeId = code.GetProperty("id").GetString()!;
        Assert.StartsWith("http://localhost/c#", code.GetProperty("link").GetString());
        var scan = await (await anonymous.PostAsync("/api/v1/scan", Http.Json(new { payload }))).ReadJsonAsync();
        Assert.Equal("Front door", scan.GetProperty("label").GetString());
        Assert.Equal(["audio", "video", "chat"], scan.GetProperty("media").EnumerateArray().Select(m => m.GetString()));

        // Two devices of the owner are connected; the caller starts a call; both ring.
        var d1 = await host.ConnectAsync(transport, owner: "alice", deviceId: "device-one");
        var d2 = await host.ConnectAsync(transport, owner: "alice", deviceId: "device-two");
        var started = await anonymous.StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        var callerId = started.GetProperty("callerId").GetString()!;
        Assert.StartsWith("qct_", callToken);
        Assert.EndsWith("Z", started.GetProperty("expiresAt").GetString());
        var ring1 = await d1.WaitForAsync("IncomingCall");
        await d2.WaitForAsync("IncomingCall");
        Assert.Equal(callId, ring1.GetProperty("callId").GetString());
        Assert.Equal(callerId, ring1.GetProperty("callerId").GetString());
        Assert.Equal("Front door", ring1.GetProperty("label").GetString());
        Assert.Equal("video", ring1.GetProperty("media").GetString());
        Assert.False(ring1.TryGetProperty("name", out _));
        var calleeId = ring1.GetProperty("calleeId").GetString()!;

        // The caller connects and sends an early offer while it rings.
        var caller = await host.ConnectAsync(transport, callToken: callToken);
        var offer = JsonSerializer.SerializeToElement(new { type = "offer", sdp = "v=0\r\n" + SdpMarker });
        var offerSeq = await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", offer);
        Assert.Equal(1, offerSeq);

        // Both devices accept at once: exactly one wins.
        var accepts = new[] { d1, d2 }.Select(async d =>
        {
            try { await d.Connection.InvokeAsync("Accept", callId); return (d, (string?)null); }
            catch (HubException ex) { return (d, (string?)ex.Message); }
        }).ToArray();
        var results = await Task.WhenAll(accepts);
        Assert.Single(results, r => r.Item2 is null);
        var loserError = Assert.Single(results, r => r.Item2 is not null).Item2!;
        Assert.Equal("invalid_state", HubErrors.CodeOf(loserError));
        var winner = results.Single(r => r.Item2 is null).d;
        var loser = results.Single(r => r.Item2 is not null).d;

        await loser.WaitForAsync("CallAnsweredElsewhere", e => e.GetProperty("callId").GetString() == callId);
        var relayedOffer = await winner.WaitForAsync("Signal");
        Assert.Equal("offer", relayedOffer.GetProperty("type").GetString());
        Assert.Equal(offerSeq, relayedOffer.GetProperty("seq").GetInt64());
        Assert.Equal(callerId, relayedOffer.GetProperty("from").GetString());
        Assert.Contains(SdpMarker, relayedOffer.GetProperty("data").GetProperty("sdp").GetString());
        await caller.WaitForAsync("CallAccepted");

        // The winner answers and sends ICE; the caller gets them in order with gap-free seqs.
        var answer = JsonSerializer.SerializeToElement(new { type = "answer", sdp = "v=0\r\n" + SdpMarker });
        var ice = JsonSerializer.SerializeToElement(new { candidate = "candidate:1 1 udp 1 10.9.8.7 9 typ host", sdpMid = "0" });
        var answerSeq = await winner.Connection.InvokeAsync<long>("Signal", callId, "answer", answer);
        var iceSeq = await winner.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", ice);
        await caller.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == iceSeq);
        var callerSignals = caller.Of("Signal").Select(e => e.GetProperty("seq").GetInt64()).ToList();
        Assert.Equal([answerSeq, iceSeq], callerSignals);
        Assert.Equal(iceSeq, answerSeq + 1);
        Assert.True(answerSeq > offerSeq);
        Assert.Equal(calleeId, caller.Of("Signal").First().GetProperty("from").GetString());

        // Third parties: another owner and another caller can neither send into nor read from the call.
        var bob = host.Client(owner: "bob");
        var bobCode = await bob.IssueCodeAsync();
        var bobDevice = await host.ConnectAsync(transport, owner: "bob", deviceId: "bob-phone");
        var otherCall = await anonymous.StartCallAsync(bobCode.GetProperty("payload").GetString()!, "audio");
        var otherToken = otherCall.GetProperty("callToken").GetString()!;
        var otherCaller = await host.ConnectAsync(transport, callToken: otherToken);
        foreach (var intruder in new[] { bobDevice, otherCaller, loser })
        {
            var signal = await Assert.ThrowsAsync<HubException>(() => intruder.Connection.InvokeAsync<long>("Signal", callId, "offer", offer));
            Assert.Equal("not_participant", HubErrors.CodeOf(signal.Message));
            var resume = await Assert.ThrowsAsync<HubException>(() => intruder.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L));
            Assert.Equal("not_participant", HubErrors.CodeOf(resume.Message));
            var chat = await Assert.ThrowsAsync<HubException>(() => intruder.Connection.InvokeAsync<long>("Chat", callId, Ciphertext));
            Assert.Equal("not_participant", HubErrors.CodeOf(chat.Message));
        }
        var otherRest = host.Client(bearer: otherToken);
        await (await otherRest.GetAsync($"/api/v1/calls/{callId}/events?after=0")).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await otherRest.PostAsync($"/api/v1/calls/{callId}/events", Http.Json(new { type = "offer", data = new { sdp = "x" } })))
            .AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
        await (await bob.GetAsync($"/api/v1/calls/{callId}")).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");

        // The caller drops; the winner sees PeerLeft and chats meanwhile; the caller comes back and resumes.
        var lastSeen = caller.Of("Signal").Max(e => e.GetProperty("seq").GetInt64());
        await caller.Connection.StopAsync();
        await winner.WaitForAsync("PeerLeft", e => e.GetProperty("who").GetString() == callerId);
        var chatSeq = await winner.Connection.InvokeAsync<long>("Chat", callId, Ciphertext);
        var back = await host.ConnectAsync(transport, callToken: callToken);
        await winner.WaitForAsync("PeerJoined", e => e.GetProperty("who").GetString() == callerId);
        var missed = await back.Connection.InvokeAsync<JsonElement>("Resume", callId, lastSeen);
        var missedChat = Assert.Single(missed.EnumerateArray(), e => e.GetProperty("type").GetString() == "chat");
        Assert.Equal(chatSeq, missedChat.GetProperty("seq").GetInt64());
        Assert.Equal(Ciphertext, missedChat.GetProperty("data").GetString());
        Assert.Equal(calleeId, missedChat.GetProperty("from").GetString());

        // The long-poll mailbox shows the caller the same events as the hub did, less what Resume(lastSeen) acknowledged
        // (the answer and the candidate: trimmed from the window).
        var callerRest = host.Client(bearer: callToken);
        var mailbox = await (await callerRest.GetAsync($"/api/v1/calls/{callId}/events?after=0&waitSeconds=0")).ReadJsonAsync();
        var mailboxSeqs = mailbox.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).ToList();
        Assert.DoesNotContain(answerSeq, mailboxSeqs);
        Assert.DoesNotContain(iceSeq, mailboxSeqs);
        Assert.Contains(chatSeq, mailboxSeqs);
        Assert.Contains(mailbox.EnumerateArray(), e => e.GetProperty("type").GetString() == "call-accepted");
        Assert.DoesNotContain(offerSeq, mailboxSeqs); // the caller's own offer is addressed to the callee
        Assert.Equal(mailboxSeqs.OrderBy(s => s), mailboxSeqs);
        var resumedAll = await back.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.Equal(mailbox.GetRawText(), resumedAll.GetRawText());
        var status = await (await callerRest.GetAsync($"/api/v1/calls/{callId}")).ReadJsonAsync();
        Assert.Equal("active", status.GetProperty("state").GetString());

        // A long poll waits without a thread and wakes when the winner sends.
        var poll = callerRest.GetAsync($"/api/v1/calls/{callId}/events?after={chatSeq}&waitSeconds=10");
        await Task.Delay(100);
        Assert.False(poll.IsCompleted);
        var renegotiateSeq = await winner.Connection.InvokeAsync<long>("Signal", callId, "renegotiate", offer);
        var woke = await (await poll).ReadJsonAsync();
        Assert.Equal(renegotiateSeq, woke.EnumerateArray().First().GetProperty("seq").GetInt64());

        // Typing is relayed; hangup ends the call for both sides.
        await back.Connection.InvokeAsync("Typing", callId, true);
        var typing = await winner.WaitForAsync("Typing");
        Assert.True(typing.GetProperty("isTyping").GetBoolean());
        await back.Connection.InvokeAsync("Hangup", callId);
        Assert.Equal("hangup", (await back.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        Assert.Equal("hangup", (await winner.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        var hangupAgain = await Assert.ThrowsAsync<HubException>(() => winner.Connection.InvokeAsync("Hangup", callId));
        Assert.Equal("invalid_state", HubErrors.CodeOf(hangupAgain.Message));

        // History lists the call with anonymous ids only.
        var history = await (await alice.GetAsync("/api/v1/calls?limit=10")).ReadJsonAsync();
        var item = Assert.Single(history.EnumerateArray());
        Assert.Equal(callId, item.GetProperty("callId").GetString());
        Assert.Equal(codeId, item.GetProperty("codeId").GetString());
        Assert.Equal(callerId, item.GetProperty("callerId").GetString());
        Assert.Equal("ended", item.GetProperty("state").GetString());
        Assert.Equal("hangup", item.GetProperty("endReason").GetString());
        Assert.Equal("video", item.GetProperty("media").GetString());

        // Privacy: the loser never saw a signal; the caller never saw owner, device or code ids; logs hold no secrets.
        Assert.Empty(loser.Of("Signal"));
        Assert.Empty(loser.Of("Chat"));
        foreach (var callerSide in new[] { caller, back })
        {
            foreach (var secret in new[] { "alice", "device-one", "device-two", codeId })
            {
                Assert.DoesNotContain(secret, callerSide.AllText);
            }
        }
        Assert.DoesNotContain(callId, otherCaller.AllText);
        Assert.DoesNotContain(callId, bobDevice.AllText);
        var logs = host.Logs.AllText;
        Assert.NotEmpty(host.Logs.Lines);
        var token = payload.Split(':')[2];
        foreach (var secret in new[] { payload, token, token.ToLowerInvariant(), callToken, otherToken, "127.0.0.1", SdpMarker, Ciphertext, "10.9.8.7" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task StartCall_TwiceBySameClient_SharesNoId()
    {
        await using var host = await TestHost.StartAsync();
        var code = await host.Client(owner: "alice").IssueCodeAsync();
        var payload = code.GetProperty("payload").GetString()!;
        var anonymous = host.Client();
        var a = await anonymous.StartCallAsync(payload);
        var b = await anonymous.StartCallAsync(payload);
        var idsA = new[] { "callId", "callerId", "callToken" }.Select(p => a.GetProperty(p).GetString()!).ToList();
        var idsB = new[] { "callId", "callerId", "callToken" }.Select(p => b.GetProperty(p).GetString()!).ToList();
        Assert.Empty(idsA.Intersect(idsB));
        Assert.All(idsA, id => Assert.DoesNotContain(id, b.GetRawText()));
        Assert.DoesNotContain(code.GetProperty("id").GetString()!, a.GetRawText());
        Assert.DoesNotContain("alice", a.GetRawText());
    }

    [Fact]
    public async Task OwnerDeviceConnectsWhileRinging_GetsIncomingCallAndCanAccept()
    {
        await using var host = await TestHost.StartAsync();
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync();
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callId = started.GetProperty("callId").GetString()!;

        // The device was offline when the call started (or reloaded its page): it rings on connect.
        var late = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "late-device");
        var ring = await late.WaitForAsync("IncomingCall");
        await late.Connection.InvokeAsync("Accept", callId);
        var bob = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "bob", deviceId: "bob-device");

        Assert.Equal(callId, ring.GetProperty("callId").GetString());
        Assert.Equal(started.GetProperty("callerId").GetString(), ring.GetProperty("callerId").GetString());
        Assert.Empty(bob.Of("IncomingCall"));
    }

    [Fact]
    public async Task Reject_ByOwnerDevice_EndsCallForCallerAndAllDevices()
    {
        await using var host = await TestHost.StartAsync();
        var code = await host.Client(owner: "alice").IssueCodeAsync();
        var d1 = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice");
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        await d1.WaitForAsync("IncomingCall");
        await d1.Connection.InvokeAsync("Reject", callId);
        Assert.Equal("rejected", (await caller.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        var state = await (await host.Client(owner: "alice").GetAsync($"/api/v1/calls/{callId}")).ReadJsonAsync();
        Assert.Equal("ended", state.GetProperty("state").GetString());
        Assert.Equal("rejected", state.GetProperty("endReason").GetString());
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets, "qct_bogus")]
    [InlineData(HttpTransportType.LongPolling, "qct_bogus")]
    [InlineData(HttpTransportType.WebSockets, null)]
    public async Task HubConnect_WithUnknownCallTokenOrNoOwner_IsClosedUnauthorized(HttpTransportType transport, string? token)
    {
        await using var host = await TestHost.StartAsync();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => host.ConnectAsync(transport, callToken: token));
        Assert.Contains("HubException: unauthorized: ", ex.Message);
    }
}
