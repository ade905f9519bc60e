using System.Net;
using System.Text.Json;

namespace QrCalling.Client.Tests.Calls;

/// <summary>Every flow of the spec through the typed client against a real host: both sides are
/// <see cref="QrCallingOwnerClient"/> and <see cref="QrCallingCallerClient"/>, over JSON and MessagePack.</summary>
public sealed class CallFlowTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    private static async Task<(ClientTestHost Host, QrCallingOwnerClient Owner, IssuedCode Code, QrCallingDeviceConnection Device, EventLog DeviceEvents)>
        OwnerOnlineAsync(bool messagePack = false, CodeSettings? settings = null)
    {
        var host = await ClientTestHost.StartAsync(messagePack);
        var owner = host.Owner("alice", messagePack);
        var code = await owner.CreateCodeAsync(settings ?? new CodeSettings { Label = "Front door", Media = [CallMedia.Audio, CallMedia.Video, CallMedia.Chat] });
        var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync());
        return (host, owner, code, device, new EventLog(device.ReadEventsAsync()));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task FullCall_ScanStartRingAcceptOfferAnswerIceChatHangup_EachSideSeesEveryEventOnceInOrder(bool messagePack)
    {
        var (host, owner, code, device, deviceEvents) = await OwnerOnlineAsync(messagePack);
        await using var _ = host;
        await using var __ = device;
        Assert.Contains(await owner.ListCodesAsync(), c => c.Id == code.Id && c.Label == "Front door");

        var callers = host.Caller(messagePack);
        var scan = await callers.ScanAsync(code.Link);
        Assert.Equal("Front door", scan.Label);
        Assert.True(scan.Reachable);
        var started = await callers.StartCallAsync(code.Payload, CallMedia.Video);
        Assert.DoesNotContain(started.CallToken, started.ToString());
        await using var caller = await callers.ConnectAsync(started);
        var callerEvents = new EventLog(caller.ReadEventsAsync());

        // Early offer while ringing: it waits for the device that accepts.
        var offer = Json("""{"type":"offer","sdp":"v=0 offer","n":[1,-2,3.5,true,null]}""");
        var offerSeq = await caller.SignalAsync("offer", offer);
        var ring = await deviceEvents.WaitForAsync<IncomingCall>();
        Assert.Equal(started.CallId, ring.CallId);
        Assert.Equal("Front door", ring.Label);
        Assert.Equal(CallMedia.Video, ring.Media);
        Assert.Equal(started.CallerId, ring.CallerId);
        await device.AcceptAsync(started.CallId);
        await callerEvents.WaitForAsync<CallAccepted>();
        var receivedOffer = await deviceEvents.WaitForAsync<SignalReceived>(s => s.Type == "offer");
        Assert.Equal(offerSeq, receivedOffer.Seq);
        Assert.True(JsonElement.DeepEquals(offer, receivedOffer.Data));

        var answerSeq = await device.SignalAsync(started.CallId, "answer", Json("""{"type":"answer","sdp":"v=0 answer"}"""));
        var iceSeq = await device.SignalAsync(started.CallId, "ice-candidate", Json("""{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}"""));
        await caller.SignalAsync("ice-candidate", Json("""{"candidate":"candidate:2 1 udp 1 127.0.0.1 10 typ host","sdpMid":"0"}"""));
        var chatToOwner = await caller.ChatAsync("Y2lwaGVydGV4dA==");
        var chatToCaller = await device.ChatAsync(started.CallId, "cmVwbHk=");
        await caller.TypingAsync(true);

        await callerEvents.WaitForAsync<SignalReceived>(s => s.Seq == iceSeq);
        var chatAtCaller = await callerEvents.WaitForAsync<ChatReceived>();
        Assert.Equal(chatToCaller, chatAtCaller.Seq);
        Assert.Equal("cmVwbHk=", chatAtCaller.Ciphertext);
        Assert.Equal(ring.CalleeId, chatAtCaller.From);
        var chatAtOwner = await deviceEvents.WaitForAsync<ChatReceived>();
        Assert.Equal(chatToOwner, chatAtOwner.Seq);
        Assert.Equal(started.CallerId, chatAtOwner.From);
        await deviceEvents.WaitForAsync<SignalReceived>(s => s.Type == "ice-candidate");
        Assert.True((await deviceEvents.WaitForAsync<TypingChanged>()).IsTyping);

        await caller.HangupAsync();
        Assert.Equal("hangup", (await deviceEvents.WaitForAsync<CallEnded>()).Reason);
        Assert.Equal("hangup", (await callerEvents.WaitForAsync<CallEnded>()).Reason);

        // Each side saw each signal and chat once, in seq order, and each lifecycle event once.
        Assert.Equal([answerSeq, iceSeq], callerEvents.Of<SignalReceived>().Select(s => s.Seq));
        Assert.Single(callerEvents.Of<CallAccepted>());
        Assert.Single(callerEvents.Of<CallEnded>());
        var deviceSeqs = deviceEvents.Events.Select(e => e switch { SignalReceived s => s.Seq, ChatReceived c => c.Seq, _ => -1 }).Where(s => s >= 0).ToList();
        Assert.Equal(deviceSeqs.Order().Distinct(), deviceSeqs);
        Assert.Single(deviceEvents.Of<IncomingCall>());
        Assert.Single(deviceEvents.Of<CallEnded>());
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains(started.CallToken, StringComparison.Ordinal) || l.Contains(code.Payload, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Reject_WhileRinging_EndsTheCallRejectedForBothSides()
    {
        var (host, _, code, device, deviceEvents) = await OwnerOnlineAsync();
        await using var _h = host;
        await using var _d = device;
        var callers = host.Caller();
        var started = await callers.StartCallAsync(code.Payload, CallMedia.Audio);
        await using var caller = await callers.ConnectAsync(started);
        var callerEvents = new EventLog(caller.ReadEventsAsync());
        await deviceEvents.WaitForAsync<IncomingCall>();

        await device.RejectAsync(started.CallId);

        Assert.Equal("rejected", (await callerEvents.WaitForAsync<CallEnded>()).Reason);
        Assert.Equal("rejected", (await deviceEvents.WaitForAsync<CallEnded>()).Reason);
        Assert.Empty(callerEvents.Of<CallAccepted>());
        var late = await Assert.ThrowsAsync<QrCallingException>(() => device.AcceptAsync(started.CallId));
        Assert.Equal("invalid_state", late.Code);
    }

    [Fact]
    public async Task CallerCancels_WhileRinging_TheDeviceStopsRingingWithCanceled()
    {
        var (host, _, code, device, deviceEvents) = await OwnerOnlineAsync();
        await using var _h = host;
        await using var _d = device;
        var callers = host.Caller();
        var started = await callers.StartCallAsync(code.Payload, CallMedia.Chat);
        await using var caller = await callers.ConnectAsync(started);
        await deviceEvents.WaitForAsync<IncomingCall>();

        await caller.HangupAsync();

        Assert.Equal("canceled", (await deviceEvents.WaitForAsync<CallEnded>(e => e.CallId == started.CallId)).Reason);
        var refused = await Assert.ThrowsAsync<QrCallingException>(() => device.AcceptAsync(started.CallId));
        Assert.Equal("invalid_state", refused.Code);
    }

    [Fact]
    public async Task UnavailableCode_ScanAndStartAreRefusedWithStableCodes()
    {
        var (host, owner, code, device, _) = await OwnerOnlineAsync();
        await using var _h = host;
        await using var _d = device;
        var callers = host.Caller();
        await owner.RevokeCodeAsync(code.Id);

        var scan = await Assert.ThrowsAsync<QrCallingException>(() => callers.ScanAsync(code.Payload));
        Assert.Equal("unavailable", scan.Code);
        Assert.Equal(HttpStatusCode.NotFound, scan.StatusCode);
        var start = await Assert.ThrowsAsync<QrCallingException>(() => callers.StartCallAsync(code.Payload, CallMedia.Audio));
        Assert.Equal("unavailable", start.Code);
        var malformed = await Assert.ThrowsAsync<QrCallingException>(() => callers.ScanAsync("pqc:1:nonsense"));
        Assert.Equal("malformed", malformed.Code);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        var revokedAgain = await Assert.ThrowsAsync<QrCallingException>(() => owner.RevokeCodeAsync(code.Id));
        Assert.Equal("not_found", revokedAgain.Code);
        var notOurs = await Assert.ThrowsAsync<QrCallingException>(() => device.AcceptAsync("call_doesnotexist"));
        Assert.Equal("not_participant", notOurs.Code);
    }

    [Fact]
    public async Task OwnerWithoutAccount_IsRefusedUnauthorized_AndAWrongDeviceCredentialCannotConnect()
    {
        await using var host = await ClientTestHost.StartAsync();
        var nobody = new QrCallingOwnerClient(new HttpClient(), new QrCallingClientOptions { BaseAddress = host.Address, OwnerAccessToken = _ => ValueTask.FromResult("not-a-token") });
        var refused = await Assert.ThrowsAsync<QrCallingException>(() => nobody.CreateCodeAsync());
        Assert.Equal("unauthorized", refused.Code);

        var alice = host.Owner("alice");
        var device = await alice.RegisterDeviceAsync();
        var wrong = await Assert.ThrowsAsync<QrCallingException>(() => alice.ConnectAsync(device with { DeviceCredential = "wrong" }));
        Assert.Equal("unauthorized", wrong.Code);
    }

    [Fact]
    public async Task CodeLifecycle_CreateListRotateDelete()
    {
        await using var host = await ClientTestHost.StartAsync();
        var owner = host.Owner("bob");
        var code = await owner.CreateCodeAsync(new CodeSettings { Label = "Desk", Media = [CallMedia.Chat], MaxScans = 2, ExpiresInSeconds = 3600 });
        Assert.StartsWith("pqc:1:", code.Payload, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, code.MaxScans);
        Assert.NotNull(code.ExpiresAt);

        var rotated = await owner.RotateCodeAsync(code.Id);
        Assert.NotEqual(code.Payload, rotated.Payload);
        var listed = await owner.ListCodesAsync(limit: 10);
        Assert.NotNull(listed.Single(c => c.Id == code.Id).RevokedAt);
        Assert.Null(listed.Single(c => c.Id == rotated.Id).RevokedAt);

        await owner.DeleteCodeAsync(rotated.Id);
        Assert.DoesNotContain(await owner.ListCodesAsync(), c => c.Id == rotated.Id);
    }
}
