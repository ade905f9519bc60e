using System.Text.Json;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Calls.Internal;
using QrCalling.Storage;
using QrCalling.Diagnostics;
using QrCalling.Transport;
using Xunit;
using static QrCalling.Core.Tests.Calls.CallHarness;

namespace QrCalling.Core.Tests.Calls;

public sealed class CallServiceTests
{
    private const string OfferSdp = "v=0 o=- 4611731400430051336 2 IN IP4 127.0.0.1 s=secret-sdp-offer";
    private static readonly CancellationToken None = CancellationToken.None;

    [Fact]
    public async Task FullCall_StartAcceptSignalChatHangup_DeliversEachEventOnlyToItsParticipants()
    {
        using var h = Create();
        var (code, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var (d1, d2, d3) = (h.Device("d1"), h.Device("d2"), h.Device("d3"));

        // Ringing: every device of the owner gets IncomingCall with the anonymous ids only.
        var incoming = Assert.IsType<IncomingCallEvent>(Assert.Single(h.Transport.ForDevice(h.Owner, "d1")));
        Assert.Equal(started.Call.CallerId, incoming.CallerId);
        Assert.Equal(started.Call.CalleeId, incoming.CalleeId);
        Assert.Equal("video", incoming.Media);
        Assert.Equal("Blue van", incoming.Label);
        Assert.Equal(T0.AddSeconds(30), incoming.ExpiresAt);

        // Early offer: stored, delivered to nobody yet.
        var offerSeq = await h.Calls.SignalAsync(caller, callId, "offer", Json($$"""{"type":"offer","sdp":"{{OfferSdp}}"}"""), None);
        var earlyChat = await h.Calls.ChatAsync(caller, callId, "ZWFybHktY2lwaGVydGV4dA==", None);
        Assert.Equal(1, offerSeq.Value);
        Assert.Equal(2, earlyChat.Value);
        Assert.DoesNotContain(h.Transport.Sent, s => s.Event is SignalEvent or ChatEvent);
        Assert.Equal(QrCallingErrorCodes.InvalidState, (await h.Calls.SignalAsync(d1, callId, "answer", Json("{}"), None)).Error?.Code);

        // d2 accepts: the caller and d2 learn it, d1 and d3 get CallAnsweredElsewhere, d2 alone gets the early offer.
        var accepted = await h.Calls.AcceptAsync(d2, callId, None);
        Assert.Equal("d2", accepted.Value.AcceptedDeviceId);
        Assert.Equal(CallState.Active, accepted.Value.State);
        Assert.Equal(QrCallingErrorCodes.InvalidState, (await h.Calls.AcceptAsync(d1, callId, None)).Error?.Code);
        var d2Events = h.Transport.ForDevice(h.Owner, "d2");
        Assert.Contains(d2Events, e => e is CallAcceptedEvent);
        var early = d2Events.Where(e => e is SignalEvent or ChatEvent).ToList();
        Assert.Equal(2, early.Count);
        var offer = Assert.IsType<SignalEvent>(early[0]);
        Assert.Equal((1L, "offer", started.Call.CallerId), (offer.Seq, offer.Type, offer.From));
        Assert.Equal(OfferSdp, offer.Data.GetProperty("sdp").GetString());
        Assert.Equal("ZWFybHktY2lwaGVydGV4dA==", Assert.IsType<ChatEvent>(early[1]).Ciphertext);
        Assert.Contains(h.Transport.ForCaller(callId), e => e is CallAcceptedEvent);
        foreach (var other in new[] { "d1", "d3" })
        {
            var events = h.Transport.ForDevice(h.Owner, other);
            Assert.Contains(events, e => e is CallAnsweredElsewhereEvent);
            Assert.DoesNotContain(events, e => e is SignalEvent or ChatEvent or CallAcceptedEvent);
        }

        // Answer, ICE both ways, chat, typing.
        var answerSeq = await h.Calls.SignalAsync(d2, callId, "answer", Json("""{"type":"answer","sdp":"v=0 answer"}"""), None);
        Assert.Equal(4, answerSeq.Value); // 1 offer, 2 chat, 3 call-accepted
        await h.Calls.SignalAsync(caller, callId, "ice-candidate", Json("""{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host"}"""), None);
        await h.Calls.SignalAsync(d2, callId, "ice-candidate", Json("""{"candidate":"candidate:2 1 udp 1 127.0.0.1 5001 typ host"}"""), None);
        var chatSeq = await h.Calls.ChatAsync(d2, callId, "c2VjcmV0LWNoYXQ=", None);
        Assert.Equal(7, chatSeq.Value);
        Assert.True((await h.Calls.TypingAsync(caller, callId, true, None)).Value);

        var callerEvents = h.Transport.ForCaller(callId);
        var toCaller = callerEvents.OfType<SignalEvent>().ToList();
        Assert.Equal(["answer", "ice-candidate"], toCaller.Select(s => s.Type));
        Assert.Equal([4L, 6L], toCaller.Select(s => s.Seq));
        Assert.All(toCaller, s => Assert.Equal(started.Call.CalleeId, s.From));
        Assert.Equal(7, Assert.Single(callerEvents.OfType<ChatEvent>()).Seq);
        Assert.Equal(started.Call.CallerId, Assert.Single(h.Transport.ForDevice(h.Owner, "d2").OfType<TypingEvent>()).From);

        // Nobody else can send into the call.
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.SignalAsync(d1, callId, "offer", Json("{}"), None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.ChatAsync(d3, callId, "eA==", None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.TypingAsync(d1, callId, true, None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.HangupAsync(d1, callId, None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant,
            (await h.Calls.SignalAsync(CallActor.OwnerDevice("stranger", "d2"), callId, "offer", Json("{}"), None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant,
            (await h.Calls.SignalAsync(CallActor.Caller("call_other"), callId, "offer", Json("{}"), None)).Error?.Code);

        // Hangup by the caller: hangup; CallEnded to the caller and d2 only.
        var hungUp = await h.Calls.HangupAsync(caller, callId, None);
        Assert.Equal(CallEndReason.Hangup, hungUp.Value.EndReason);
        Assert.Equal("hangup", Assert.Single(h.Transport.ForCaller(callId).OfType<CallEndedEvent>()).Reason);
        Assert.Single(h.Transport.ForDevice(h.Owner, "d2").OfType<CallEndedEvent>());
        Assert.Empty(h.Transport.ForDevice(h.Owner, "d1").OfType<CallEndedEvent>());
        Assert.Equal(QrCallingErrorCodes.InvalidState, (await h.Calls.SignalAsync(caller, callId, "offer", Json("{}"), None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidState, (await h.Calls.HangupAsync(d2, callId, None)).Error?.Code);

        // Privacy: the caller never got an owner id, device id or code id; logs hold no secret.
        var callerJson = string.Join("\n", h.Transport.ForCaller(callId).Select(e => JsonSerializer.Serialize(e, e.GetType())));
        Assert.DoesNotContain(h.Owner, callerJson, StringComparison.Ordinal);
        Assert.DoesNotContain("\"d2\"", callerJson, StringComparison.Ordinal);
        Assert.DoesNotContain(code.Code.Id, callerJson, StringComparison.Ordinal);
        var logs = h.Logs.AllText;
        Assert.Contains(callId, logs, StringComparison.Ordinal);
        foreach (var secret in new[] { started.CallToken, started.CallToken[CallService.CallTokenPrefix.Length..], code.Payload, OfferSdp, "secret-sdp", "c2VjcmV0LWNoYXQ=", "ZWFybHktY2lwaGVydGV4dA==" })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task AcceptAsync_FiftyParallelDevices_ExactlyOneSuccessAndOneWinner()
    {
        using var h = Create();
        var (_, started, _) = await h.StartAsync();
        var callId = started.Call.CallId;

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            await h.Calls.AcceptAsync(h.Device($"dev-{i}"), callId, None))));

        var winners = results.Where(r => r.IsSuccess).ToList();
        var winner = Assert.Single(winners).Value.AcceptedDeviceId!;
        Assert.All(results.Where(r => !r.IsSuccess), r => Assert.Equal(QrCallingErrorCodes.InvalidState, r.Error!.Code));
        Assert.Equal(winner, (await h.Storage.Calls.GetAsync(callId, None))!.AcceptedDeviceId);
        Assert.Single(h.Transport.Sent, s => s.Event is CallAcceptedEvent && s.Target.StartsWith("device:", StringComparison.Ordinal));
        Assert.Equal($"device:{h.Owner}/{winner}", h.Transport.Sent.Single(s => s.Event is CallAcceptedEvent && s.Target.StartsWith("device:", StringComparison.Ordinal)).Target);
        var lifecycle = await h.Storage.Mailbox.ReadAsync(callId, CallSide.Caller, 0, 100, int.MaxValue, None);
        Assert.Single(lifecycle, e => e.Type == "call-accepted");
    }

    [Fact]
    public async Task DeviceOnlineAsync_CallsRingingAndOthers_RingsTheDeviceOnlyForRingingCalls()
    {
        using var h = Create();
        var (_, ringing, _) = await h.StartAsync();
        var (_, accepted, _) = await h.StartAsync();
        await h.Calls.AcceptAsync(h.Device("d1"), accepted.Call.CallId, None);
        var (_, rangOut, _) = await h.StartAsync();
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var (_, fresh, _) = await h.StartAsync();
        h.Time.Advance(TimeSpan.FromSeconds(25)); // the first three rang out (not swept yet); the fourth still rings

        var rang = await h.Calls.DeviceOnlineAsync(h.Device("late"), None);

        Assert.Equal(1, rang);
        var incoming = h.Transport.Sent.Where(s => s.Target == $"device:{h.Owner}/late").Select(s => s.Event).ToList();
        var only = Assert.IsType<IncomingCallEvent>(Assert.Single(incoming));
        Assert.Equal(fresh.Call.CallId, only.CallId);
        Assert.Equal(fresh.Call.CallerId, only.CallerId);
        Assert.DoesNotContain(incoming, e => e.CallId == ringing.Call.CallId || e.CallId == accepted.Call.CallId || e.CallId == rangOut.Call.CallId);
        await Assert.ThrowsAsync<ArgumentException>(async () => await h.Calls.DeviceOnlineAsync(CallActor.Caller(fresh.Call.CallId), None));
    }

    [Fact]
    public async Task SweepAsync_RingTimeoutPassed_EndsMissedAndTellsEveryone()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        h.Time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, await h.Calls.SweepAsync(None));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var ended = await h.Calls.SweepAsync(None);

        Assert.Equal(1, ended);
        var call = (await h.Calls.GetAsync(caller, callId, None)).Value;
        Assert.Equal((CallState.Ended, CallEndReason.Missed), (call.State, call.EndReason));
        Assert.Equal("missed", Assert.Single(h.Transport.ForCaller(callId).OfType<CallEndedEvent>()).Reason);
        Assert.Single(h.Transport.ForDevice(h.Owner, "any-device").OfType<CallEndedEvent>());
        Assert.Equal(QrCallingErrorCodes.InvalidState, (await h.Calls.AcceptAsync(h.Device("d1"), callId, None)).Error?.Code);
        Assert.Equal(0, await h.Calls.SweepAsync(None));
    }

    [Fact]
    public async Task AcceptAsync_AfterRingTimeoutBeforeSweep_IsInvalidState()
    {
        using var h = Create();
        var (_, started, _) = await h.StartAsync();
        h.Time.Advance(TimeSpan.FromSeconds(31));

        var accepted = await h.Calls.AcceptAsync(h.Device("d1"), started.Call.CallId, None);

        Assert.Equal(QrCallingErrorCodes.InvalidState, accepted.Error?.Code);
    }

    [Fact]
    public async Task SweepAsync_MaxDurationPassed_EndsTimeout()
    {
        using var h = Create(o => o.MaxCallDuration = TimeSpan.FromMinutes(10));
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        await h.Calls.AcceptAsync(h.Device("d1"), callId, None);

        h.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(0, await h.Calls.SweepAsync(None));
        h.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await h.Calls.SweepAsync(None));

        Assert.Equal(CallEndReason.Timeout, (await h.Calls.GetAsync(caller, callId, None)).Value.EndReason);
        Assert.Equal("timeout", Assert.Single(h.Transport.ForDevice(h.Owner, "d1").OfType<CallEndedEvent>()).Reason);
        Assert.Null(await h.Calls.AuthenticateCallerAsync(started.CallToken, None)); // the token expired with the call
    }

    [Fact]
    public async Task SweepAsync_CallerGonePastGrace_EndsDropped()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        await h.Calls.AcceptAsync(h.Device("d1"), callId, None);

        await h.Calls.DisconnectedAsync(caller, callId, None);
        var left = Assert.Single(h.Transport.ForDevice(h.Owner, "d1").OfType<PeerLeftEvent>());
        Assert.Equal(started.Call.CallerId, left.Who);
        h.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await h.Calls.SweepAsync(None));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await h.Calls.SweepAsync(None));

        Assert.Equal(CallEndReason.Dropped, (await h.Calls.GetAsync(caller, callId, None)).Value.EndReason);
    }

    [Fact]
    public async Task SweepAsync_CalleeReconnectsWithinGrace_DoesNotDrop()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var d1 = h.Device("d1");
        await h.Calls.AcceptAsync(d1, callId, None);

        await h.Calls.DisconnectedAsync(d1, callId, None);
        h.Time.Advance(TimeSpan.FromSeconds(20));
        await h.Calls.DisconnectedAsync(d1, callId, None); // a second lost connection keeps the first time
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Calls.ConnectedAsync(d1, callId, None);
        h.Time.Advance(TimeSpan.FromSeconds(60));
        var ended = await h.Calls.SweepAsync(None);

        Assert.Equal(0, ended);
        var call = (await h.Calls.GetAsync(caller, callId, None)).Value;
        Assert.Equal(CallState.Active, call.State);
        Assert.Null(call.CalleeGoneSince);
        var callerEvents = h.Transport.ForCaller(callId);
        Assert.Equal(started.Call.CalleeId, Assert.Single(callerEvents.OfType<PeerLeftEvent>()).Who);
        Assert.Equal(started.Call.CalleeId, Assert.Single(callerEvents.OfType<PeerJoinedEvent>()).Who);
    }

    [Fact]
    public async Task DisconnectedAsync_CallerWhileRinging_NoEventToOwnersAndDroppedPastGrace()
    {
        using var h = Create(o => o.RingTimeout = TimeSpan.FromMinutes(5));
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        await h.Calls.DisconnectedAsync(caller, callId, None);
        await h.Calls.DisconnectedAsync(h.Device("d1"), callId, None); // an owner device's connection while ringing: nothing
        h.Time.Advance(TimeSpan.FromSeconds(31));
        await h.Calls.SweepAsync(None);

        Assert.DoesNotContain(h.Transport.Sent, s => s.Event is PeerLeftEvent);
        Assert.Equal(CallEndReason.Dropped, (await h.Calls.GetAsync(caller, callId, None)).Value.EndReason);
    }

    [Fact]
    public async Task RevokeAsync_CodeWithOpenCalls_EndsThemRevoked()
    {
        using var h = Create();
        var code = await h.IssueAsync();
        var ringing = (await h.Calls.StartAsync(code.Payload, MediaKind.Audio, None)).Value;
        var active = (await h.Calls.StartAsync(code.Payload, MediaKind.Chat, None)).Value;
        await h.Calls.AcceptAsync(h.Device("d1"), active.Call.CallId, None);
        var other = await h.StartAsync();

        var revoked = await h.Codes.RevokeAsync(h.Owner, code.Code.Id, None);

        Assert.True(revoked.IsSuccess);
        foreach (var call in new[] { ringing, active })
        {
            var stored = (await h.Calls.GetAsync(CallActor.Caller(call.Call.CallId), call.Call.CallId, None)).Value;
            Assert.Equal(CallEndReason.Revoked, stored.EndReason);
            Assert.Equal("revoked", Assert.Single(h.Transport.ForCaller(call.Call.CallId).OfType<CallEndedEvent>()).Reason);
        }
        Assert.Equal(CallState.Ringing, (await h.Calls.GetAsync(other.Caller, other.Call.Call.CallId, None)).Value.State);
        Assert.Equal(0, await h.Calls.CodeCallEnder.EndCallsOfCodeAsync(code.Code.Id, None));
    }

    [Fact]
    public async Task SignalAndChat_OverCaps_AreRefusedWithTypedErrors()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 256;
            o.MaxIceCandidateBytes = 300;
            o.MaxKeyExchangeBytes = 400;
            o.MaxChatCiphertextBytes = 32;
            o.RingingMailboxBytes = 100_000;
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        var bigSignal = await h.Calls.SignalAsync(caller, callId, "offer", Json($$"""{"sdp":"{{new string('x', 250)}}"}"""), None);
        var bigCandidate = await h.Calls.SignalAsync(caller, callId, "ice-candidate", Json($$"""{"candidate":"{{new string('x', 290)}}"}"""), None);
        var bigKey = await h.Calls.SignalAsync(caller, callId, "key-exchange", Json($$"""{"k":"{{new string('x', 400)}}"}"""), None);
        var bigChat = await h.Calls.ChatAsync(caller, callId, new string('A', 33), None);
        var unknownType = await h.Calls.SignalAsync(caller, callId, "hello", Json("{}"), None);
        var noData = await h.Calls.SignalAsync(caller, callId, "offer", default, None);
        var emptyChat = await h.Calls.ChatAsync(caller, callId, "", None);
        var fits = await h.Calls.ChatAsync(caller, callId, new string('A', 32), None);
        var keyFits = await h.Calls.SignalAsync(caller, callId, "key-exchange", Json($$"""{"k":"{{new string('x', 300)}}"}"""), None);

        Assert.Equal(QrCallingErrorCodes.TooLarge, bigSignal.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.TooLarge, bigCandidate.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.TooLarge, bigKey.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.TooLarge, bigChat.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, unknownType.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, noData.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, emptyChat.Error?.Code);
        Assert.Equal(1, fits.Value);
        Assert.Equal(2, keyFits.Value);
    }

    [Fact]
    public async Task Signal_WhileRinging_IsBoundedByTheRingingBudgetWithNothingStoredPastIt()
    {
        using var h = Create(o => o.RingingMailboxBytes = 66 * 1024 + 64);
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var candidate = Json($$"""{"candidate":"{{new string('c', 1000)}}"}"""); // 1016 + 64 bytes

        var results = new List<QrCallingResult<long>>();
        for (var i = 0; i < 100; i++)
        {
            results.Add(await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None));
        }

        var accepted = results.TakeWhile(r => r.IsSuccess).Count();
        Assert.Equal((66 * 1024 + 64) / 1080, accepted);
        Assert.All(results.Skip(accepted), r => Assert.Equal(QrCallingErrorCodes.MailboxFull, r.Error?.Code));
        Assert.True(await h.Storage.Mailbox.GetPendingBytesAsync(callId, CallSide.Callee, None) <= 66 * 1024 + 64);
        Assert.Equal(accepted, await h.Storage.Mailbox.GetLastSeqAsync(callId, None));
    }

    [Fact]
    public async Task Signal_RecipientThatAcknowledges_KeepsAManyMegabyteCallGoingInABoundedWindow()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 64 * 1024;
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var device = h.Device("d1");
        Assert.True((await h.Calls.AcceptAsync(device, callId, None)).IsSuccess);
        var offer = Json($$"""{"type":"offer","sdp":"{{new string('s', 2000)}}"}""");

        long lastSeq = 0;
        for (var i = 0; i < 5000; i++) // about 10 MB through a 64 KiB window
        {
            var sent = await h.Calls.SignalAsync(caller, callId, "offer", offer, None);
            Assert.True(sent.IsSuccess, $"message {i}: {sent.Error?.Code}");
            lastSeq = sent.Value;
            if (i % 8 == 7) // under half the window between acknowledgements: the sender is never paced
            {
                Assert.True((await h.Calls.AcknowledgeAsync(device, callId, lastSeq, None)).IsSuccess);
            }
            Assert.True(await h.Storage.Mailbox.GetPendingBytesAsync(callId, CallSide.Callee, None) <= 64 * 1024);
        }

        var delivered = h.Transport.ForDevice(h.Owner, "d1").OfType<SignalEvent>().Select(e => e.Seq).ToList();
        Assert.Equal(5000, delivered.Count);
        Assert.Equal(delivered.Order(), delivered);
        Assert.Equal(delivered.Count, delivered.Distinct().Count());
    }

    /// <summary>An active call whose callee acknowledged once (so it is a side that acknowledges), with the callee's window
    /// filled to just under half by <paramref name="h"/>'s caller; returns the call id, the caller, the device and a signal
    /// whose append takes the window over half.</summary>
    private static async Task<(string CallId, CallActor Caller, CallActor Device, JsonElement Offer)> HalfFullWindowAsync(CallHarness h)
    {
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var device = h.Device("d1");
        Assert.True((await h.Calls.AcceptAsync(device, callId, None)).IsSuccess);
        var offer = Json($$"""{"type":"offer","sdp":"{{new string('s', 1000)}}"}"""); // about 1.1 KB each
        var first = await h.Calls.SignalAsync(caller, callId, "offer", offer, None);
        Assert.True((await h.Calls.AcknowledgeAsync(device, callId, first.Value, None)).IsSuccess);
        while (await h.Storage.Mailbox.GetPendingBytesAsync(callId, CallSide.Callee, None) + 1100 < 8 * 1024)
        {
            Assert.True((await h.Calls.SignalAsync(caller, callId, "offer", offer, None)).IsSuccess); // under half: no wait
        }
        return (callId, caller, device, offer);
    }

    [Fact]
    public async Task Signal_RecipientLagsBehind_SenderIsAnsweredAtItsNextAcknowledgementNotRefused()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 16 * 1024;
        });
        var (callId, caller, device, offer) = await HalfFullWindowAsync(h);

        var paced = h.Calls.SignalAsync(caller, callId, "offer", offer, None).AsTask();
        await Task.Delay(50);
        var waitedForTheAck = !paced.IsCompleted;
        var delivered = h.Transport.ForDevice(h.Owner, "d1").OfType<SignalEvent>().Last().Seq;
        await h.Calls.AcknowledgeAsync(device, callId, delivered - 4, None); // the recipient catches up a little
        var sent = await paced.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(waitedForTheAck);
        Assert.True(sent.IsSuccess);
        Assert.Equal(delivered, sent.Value); // appended and delivered before the wait: pacing delays, it never refuses
    }

    [Fact]
    public async Task Signal_RecipientLagsAndNeverAcknowledgesAgain_SenderIsAnsweredAfterTheLongestWait()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 16 * 1024;
        });
        var (callId, caller, _, offer) = await HalfFullWindowAsync(h);

        var paced = h.Calls.SignalAsync(caller, callId, "offer", offer, None).AsTask();
        await Task.Delay(50);
        var waiting = !paced.IsCompleted;
        h.Time.Advance(SenderPacing.MaxWait);
        var sent = await paced.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(waiting);
        Assert.True(sent.IsSuccess);
    }

    [Fact]
    public async Task Signal_RecipientThatNeverAcknowledged_IsNotWaitedFor()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 16 * 1024;
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        await h.Calls.AcceptAsync(h.Device("d1"), callId, None);
        var offer = Json($$"""{"type":"offer","sdp":"{{new string('s', 1000)}}"}""");

        var sent = 0;
        while ((await h.Calls.SignalAsync(caller, callId, "offer", offer, None)).IsSuccess) // a v1 recipient: no waits
        {
            sent++;
        }

        Assert.Equal(16 * 1024 / (offer.GetRawText().Length + MailboxEntry.Overhead), sent);
    }

    [Fact]
    public async Task Signal_BothSidesLagging_TheSecondSenderWaitsOnlyTheShortMutualWait()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 16 * 1024;
        });
        var (callId, caller, device, offer) = await HalfFullWindowAsync(h);
        var toCaller = await h.Calls.SignalAsync(device, callId, "answer", offer, None);
        Assert.True((await h.Calls.AcknowledgeAsync(caller, callId, toCaller.Value, None)).IsSuccess); // the caller acknowledges too
        while (await h.Storage.Mailbox.GetPendingBytesAsync(callId, CallSide.Caller, None) + 1100 < 8 * 1024)
        {
            Assert.True((await h.Calls.SignalAsync(device, callId, "answer", offer, None)).IsSuccess);
        }

        // The caller's send waits for the device's acknowledgement, which (on a hub) could queue behind the device's own
        // send: that send waits only the short mutual wait, so the device's queue moves on.
        var callerWaits = h.Calls.SignalAsync(caller, callId, "offer", offer, None).AsTask();
        await Task.Delay(50);
        var deviceWaits = h.Calls.SignalAsync(device, callId, "answer", offer, None).AsTask();
        await Task.Delay(50);
        var bothWaiting = !callerWaits.IsCompleted && !deviceWaits.IsCompleted;
        h.Time.Advance(SenderPacing.MutualMaxWait);
        var deviceSend = await deviceWaits.WaitAsync(TimeSpan.FromSeconds(10));
        var callerStillWaiting = !callerWaits.IsCompleted;
        await h.Calls.AcknowledgeAsync(device, callId, await h.Storage.Mailbox.GetLastSeqAsync(callId, None), None);
        var callerSend = await callerWaits.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(bothWaiting);
        Assert.True(deviceSend.IsSuccess);
        Assert.True(callerStillWaiting);
        Assert.True(callerSend.IsSuccess);
    }

    [Fact]
    public async Task Signal_RecipientStalled_GetsMailboxFullAndLosesNothingOnceItCatchesUp()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 8 * 1024;
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var device = h.Device("d1");
        await h.Calls.AcceptAsync(device, callId, None);
        var candidate = Json($$"""{"candidate":"{{new string('c', 900)}}"}""");

        var sent = new List<long>();
        QrCallingResult<long> refused;
        while ((refused = await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None)).IsSuccess)
        {
            sent.Add(refused.Value);
        }
        Assert.Equal(QrCallingErrorCodes.MailboxFull, refused.Error?.Code);
        // A read without an acknowledgement (after 0) frees nothing.
        var missed = (await h.Calls.ReadEventsAsync(device, callId, 0, TimeSpan.Zero, None)).Value;
        Assert.Equal(sent, missed.Where(e => e.Type == "ice-candidate").Select(e => e.Seq));
        var afterResume = await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None);
        Assert.Equal(QrCallingErrorCodes.MailboxFull, afterResume.Error?.Code); // reading alone acknowledges nothing

        var caughtUp = await h.Calls.ReadEventsAsync(device, callId, sent[^1], TimeSpan.Zero, None); // Resume(afterSeq)
        var next = await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None);

        Assert.True(caughtUp.IsSuccess);
        Assert.True(next.IsSuccess);
        Assert.Equal(sent[^1] + 1, next.Value);
    }

    [Fact]
    public async Task ReadEventsAsync_AWindowFullOfTinyEntries_ComesBackInOneRead_AsDoesTheCallersCatchUp()
    {
        // v1's Resume returns "the mailbox events after afterSeq": a client reads once after a reconnect. However small
        // the entries, all that a side has not acknowledged (bounded by its window) must come back in that one read.
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.RingingMailboxBytes = 8 * 1024;
            o.MailboxBytesPerSide = 64 * 1024;
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var device = h.Device("d1");
        await h.Calls.AcceptAsync(device, callId, None);

        var toOwner = new List<long>();
        var toCaller = new List<long>();
        QrCallingResult<long> sent;
        while ((sent = await h.Calls.SignalAsync(caller, callId, "ice-candidate", Json("1"), None)).IsSuccess)
        {
            toOwner.Add(sent.Value);
            toCaller.Add((await h.Calls.SignalAsync(device, callId, "ice-candidate", Json("2"), None)).Value);
        }
        Assert.Equal(QrCallingErrorCodes.MailboxFull, sent.Error?.Code);
        Assert.True(toOwner.Count > 900, $"{toOwner.Count} entries filled the window"); // 64 KiB of 65-byte entries

        var resumed = (await h.Calls.ReadEventsAsync(device, callId, 0, TimeSpan.Zero, None)).Value;
        Assert.Equal(toOwner, resumed.Where(e => e.Type == "ice-candidate").Select(e => e.Seq));
        var caughtUp = await h.Calls.CatchUpAsync(caller, None); // a caller connection's catch-up after its join
        Assert.Equal(toCaller, caughtUp.OfType<SignalEvent>().Select(e => e.Seq));
    }

    [Fact]
    public async Task Signal_RecipientConnectedThatNeverAcknowledges_IsTrimmedAfterTheSettleTime()
    {
        using var h = Create(o =>
        {
            o.MaxSignalDataBytes = 4096;
            o.MailboxBytesPerSide = 8 * 1024;
            o.DeliveredEntrySettleTime = TimeSpan.FromSeconds(20);
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var device = h.Device("d1");
        await h.Calls.AcceptAsync(device, callId, None);
        var candidate = Json($$"""{"candidate":"{{new string('c', 900)}}"}""");
        while ((await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None)).IsSuccess)
        {
        }

        h.Time.Advance(TimeSpan.FromSeconds(21));
        var later = await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None);
        await h.Calls.DisconnectedAsync(device, callId, None);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        while ((await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None)).IsSuccess)
        {
        }
        h.Time.Advance(TimeSpan.FromSeconds(21));
        var whileGone = await h.Calls.SignalAsync(caller, callId, "ice-candidate", candidate, None);

        Assert.True(later.IsSuccess);
        Assert.Equal(QrCallingErrorCodes.MailboxFull, whileGone.Error?.Code); // kept for the side that is away
    }

    [Fact]
    public async Task ReadEventsAsync_AfterReconnect_ReturnsExactlyTheMissedEventsOfThatSide()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var d1 = h.Device("d1");
        await h.Calls.SignalAsync(caller, callId, "offer", Json("""{"sdp":"o"}"""), None);        // 1 → callee
        await h.Calls.AcceptAsync(d1, callId, None);                                                  // 2 lifecycle
        await h.Calls.SignalAsync(d1, callId, "answer", Json("""{"sdp":"a"}"""), None);           // 3 → caller
        await h.Calls.SignalAsync(caller, callId, "ice-candidate", Json("""{"c":1}"""), None);    // 4 → callee
        await h.Calls.ChatAsync(d1, callId, "aGk=", None);                                            // 5 → caller

        var callerAll = (await h.Calls.ReadEventsAsync(caller, callId, 0, TimeSpan.Zero, None)).Value;
        var callerMissed = (await h.Calls.ReadEventsAsync(caller, callId, 3, TimeSpan.Zero, None)).Value;
        var calleeAll = (await h.Calls.ReadEventsAsync(d1, callId, 0, TimeSpan.Zero, None)).Value;
        var otherDevice = await h.Calls.ReadEventsAsync(h.Device("d2"), callId, 0, TimeSpan.Zero, None);
        var stranger = await h.Calls.ReadEventsAsync(CallActor.Caller("call_other"), callId, 0, TimeSpan.Zero, None);

        Assert.Equal([2L, 3L, 5L], callerAll.Select(e => e.Seq));
        Assert.Equal(["call-accepted", "answer", "chat"], callerAll.Select(e => e.Type));
        Assert.Equal("server", callerAll[0].From);
        Assert.Equal(started.Call.CalleeId, callerAll[1].From);
        Assert.Equal("\"aGk=\"", callerAll[2].DataJson);
        Assert.Equal([5L], callerMissed.Select(e => e.Seq));
        Assert.Equal([1L, 2L, 4L], calleeAll.Select(e => e.Seq));
        Assert.Equal(QrCallingErrorCodes.NotParticipant, otherDevice.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, stranger.Error?.Code);
    }

    [Fact]
    public async Task ReadEventsAsync_LongPoll_ReturnsWhenAnAppendArrives()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var d1 = h.Device("d1");
        await h.Calls.AcceptAsync(d1, callId, None); // seq 1

        var poll = h.Calls.ReadEventsAsync(caller, callId, 1, TimeSpan.FromSeconds(25), None).AsTask();
        Assert.False(poll.IsCompleted);
        await h.Calls.SignalAsync(d1, callId, "answer", Json("""{"sdp":"a"}"""), None);
        var events = (await poll.WaitAsync(TimeSpan.FromSeconds(10))).Value;

        Assert.Equal("answer", Assert.Single(events).Type);
        Assert.Equal(2, events[0].Seq);
    }

    [Fact]
    public async Task ReadEventsAsync_LongPollWithNothingNew_ReturnsEmptyWhenTheWaitRunsOut()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        var poll = h.Calls.ReadEventsAsync(caller, callId, 0, TimeSpan.FromSeconds(90), None).AsTask(); // clamped to 30 s
        h.Time.Advance(TimeSpan.FromSeconds(29));
        await WaitUntilAsync(() => poll.IsCompleted || h.Time.GetUtcNow() >= T0.AddSeconds(29));
        Assert.False(poll.IsCompleted);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => poll.IsCompleted, () => h.Time.Advance(TimeSpan.FromMilliseconds(500)));

        Assert.Empty((await poll).Value);
    }

    [Fact]
    public async Task ReadEventsAsync_AppendByAnotherInstance_IsSeenByPolling()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        var poll = h.Calls.ReadEventsAsync(caller, callId, 0, TimeSpan.FromSeconds(10), None).AsTask();
        // Straight into storage, as another host instance would: no in-process wake-up.
        await h.Storage.Mailbox.AppendAsync(callId, new MailboxEntry
        {
            Type = "answer", From = started.Call.CalleeId, To = CallSide.Caller, DataJson = "{}", At = T0,
        }, new MailboxBudget(1 << 20, 1 << 20), None);
        Assert.False(poll.IsCompleted);
        await WaitUntilAsync(() => poll.IsCompleted, () => h.Time.Advance(TimeSpan.FromMilliseconds(500)));

        Assert.Equal("answer", Assert.Single((await poll).Value).Type);
        Assert.True(h.Time.GetUtcNow() < T0.AddSeconds(10));
    }

    [Fact]
    public async Task SweepAsync_PastRetention_DeletesMailboxThenCall()
    {
        using var h = Create(o =>
        {
            o.MailboxRetention = TimeSpan.FromMinutes(10);
            o.CallRetention = TimeSpan.FromDays(1);
        });
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        await h.Calls.SignalAsync(caller, callId, "offer", Json("{}"), None);
        await h.Calls.HangupAsync(caller, callId, None);

        h.Time.Advance(TimeSpan.FromMinutes(11));
        await h.Calls.SweepAsync(None);
        Assert.Empty(await h.Storage.Mailbox.ReadAsync(callId, CallSide.Callee, 0, 100, int.MaxValue, None));
        Assert.NotNull(await h.Storage.Calls.GetAsync(callId, None));

        h.Time.Advance(TimeSpan.FromDays(1));
        await h.Calls.SweepAsync(None);
        Assert.Null(await h.Storage.Calls.GetAsync(callId, None));
        Assert.Empty(await h.Calls.HistoryAsync(h.Owner, 10, null, None).ToListAsync());
    }

    [Fact]
    public async Task AuthenticateCallerAsync_TokenForms_AdmitOnlyTheRealTokenToItsCall()
    {
        using var h = Create();
        var (_, started, _) = await h.StartAsync();
        var token = started.CallToken;

        var actor = await h.Calls.AuthenticateCallerAsync(token, None);
        Assert.Equal(started.Call.CallId, actor?.CallerCallId);
        Assert.StartsWith(CallService.CallTokenPrefix, token, StringComparison.Ordinal);
        Assert.Equal(CallService.CallTokenPrefix.Length + 43, token.Length);
        Assert.NotEqual(token, Convert.ToBase64String(started.Call.CallTokenHash));

        var tampered = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];
        foreach (var bad in new[] { null, "", "qct_", token[CallService.CallTokenPrefix.Length..], token + "A", token[..^1], tampered, "Bearer " + token, "qct_!!!!" })
        {
            Assert.Null(await h.Calls.AuthenticateCallerAsync(bad, None));
        }
    }

    [Fact]
    public async Task StartAsync_MediaOrPayloadNotAcceptable_ReturnsTypedErrors()
    {
        using var h = Create();
        var audioOnly = await h.IssueAsync(MediaKind.Audio);

        var video = await h.Calls.StartAsync(audioOnly.Payload, MediaKind.Video, None);
        var none = await h.Calls.StartAsync(audioOnly.Payload, MediaKind.None, None);
        var malformed = await h.Calls.StartAsync("hello", MediaKind.Audio, None);
        await h.Codes.RevokeAsync(h.Owner, audioOnly.Code.Id, None);
        var revoked = await h.Calls.StartAsync(audioOnly.Payload, MediaKind.Audio, None);

        Assert.Equal(QrCallingErrorCodes.InvalidRequest, video.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.InvalidRequest, none.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.Malformed, malformed.Error?.Code);
        Assert.Equal(QrCallingErrorCodes.Unavailable, revoked.Error?.Code);
        Assert.DoesNotContain(h.Transport.Sent, s => s.Event is IncomingCallEvent);
    }

    [Fact]
    public async Task StartAsync_ManyCalls_CallerAndCalleeIdsNeverRepeat()
    {
        using var h = Create();
        var code = await h.IssueAsync();
        var ids = new List<string>();

        for (var i = 0; i < 300; i++)
        {
            var call = (await h.Calls.StartAsync(code.Payload, MediaKind.Chat, None)).Value.Call;
            ids.AddRange([call.CallId, call.CallerId, call.CalleeId]);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.DoesNotContain(ids, id => id.Contains(h.Owner, StringComparison.Ordinal) || id.Contains(code.Code.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Operations_TransportThrows_StillSucceedAndLogAWarning()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        h.Transport.Fail = true;

        var accepted = await h.Calls.AcceptAsync(h.Device("d1"), callId, None);
        var signal = await h.Calls.SignalAsync(caller, callId, "offer", Json("{}"), None);

        Assert.True(accepted.IsSuccess);
        Assert.Equal(2, signal.Value);
        Assert.Contains(h.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains(callId, StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetAsync_ParticipantsAndOthers_OnlyTheCallerAndTheOwnersDevicesSeeIt()
    {
        using var h = Create();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        Assert.Equal(callId, (await h.Calls.GetAsync(caller, callId, None)).Value.CallId);
        Assert.Equal(callId, (await h.Calls.GetAsync(h.Device("any"), callId, None)).Value.CallId);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.GetAsync(CallActor.Caller("call_x"), callId, None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.GetAsync(CallActor.OwnerDevice("stranger", "d1"), callId, None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.GetAsync(caller, "call_unknown", None)).Error?.Code);
    }

    [Fact]
    public async Task RejectAndHangup_WhileRinging_EndRejectedAndCanceledForEveryDevice()
    {
        using var h = Create();
        var first = await h.StartAsync();
        var second = await h.StartAsync();
        var third = await h.StartAsync();

        var rejected = await h.Calls.RejectAsync(h.Device("d1"), first.Call.Call.CallId, None);
        var callerRejects = await h.Calls.RejectAsync(second.Caller, second.Call.Call.CallId, None);
        var canceled = await h.Calls.HangupAsync(second.Caller, second.Call.Call.CallId, None);
        var deviceCancels = await h.Calls.HangupAsync(h.Device("d3"), third.Call.Call.CallId, None);

        Assert.Equal(CallEndReason.Rejected, rejected.Value.EndReason);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, callerRejects.Error?.Code);
        Assert.Equal(CallEndReason.Canceled, canceled.Value.EndReason);
        Assert.Equal(CallEndReason.Canceled, deviceCancels.Value.EndReason);
        Assert.Equal("rejected", h.Transport.Sent.Single(s => s.Target == $"owner:{h.Owner}" && s.Event is CallEndedEvent { CallId: var id } && id == first.Call.Call.CallId).Event is CallEndedEvent e ? e.Reason : null);
        var ended = (await h.Calls.ReadEventsAsync(first.Caller, first.Call.Call.CallId, 0, TimeSpan.FromSeconds(5), None)).Value;
        Assert.Equal("""{"reason":"rejected"}""", Assert.Single(ended).DataJson);
    }

    [Fact]
    public async Task Metrics_CallLifecycle_CountsStartedEndedAndRelayedByTag()
    {
        using var h = Create();
        var meterFactory = h.Provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var started = new MetricCollector<long>(meterFactory, QrCallingDiagnostics.MeterName, QrCallingDiagnostics.CallsStarted);
        using var ended = new MetricCollector<long>(meterFactory, QrCallingDiagnostics.MeterName, QrCallingDiagnostics.CallsEnded);
        using var relayed = new MetricCollector<long>(meterFactory, QrCallingDiagnostics.MeterName, QrCallingDiagnostics.SignalsRelayed);

        var (_, call, caller) = await h.StartAsync(MediaKind.Audio);
        await h.Calls.SignalAsync(caller, call.Call.CallId, "offer", Json("{}"), None);
        await h.Calls.ChatAsync(caller, call.Call.CallId, "eA==", None);
        await h.Calls.HangupAsync(caller, call.Call.CallId, None);

        Assert.Equal("audio", Assert.Single(started.GetMeasurementSnapshot()).Tags["media"]);
        Assert.Equal("canceled", Assert.Single(ended.GetMeasurementSnapshot()).Tags["reason"]);
        Assert.Equal(["offer", "chat"], relayed.GetMeasurementSnapshot().Select(m => m.Tags["type"]));
    }

    /// <summary>Bounded polling for a condition; <paramref name="step"/> (e.g. advancing the fake clock) runs between looks.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition, Action? step = null)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            step?.Invoke();
            await Task.Delay(2);
        }
        Assert.True(condition(), "condition not met in time");
    }
}

public sealed class CallServiceRaceTests
{
    [Fact]
    public async Task SignalAsync_CallerSignalsWhileADeviceAccepts_WinnerGetsEverySignalAndNoOtherDeviceAny()
    {
        for (var round = 0; round < 20; round++)
        {
            using var h = CallHarness.Create();
            var (_, started, caller) = await h.StartAsync();
            var callId = started.Call.CallId;

            var signals = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
                (await h.Calls.SignalAsync(caller, callId, "ice-candidate", CallHarness.Json($$"""{"n":{{i}}}"""), CancellationToken.None)).Value)).ToList();
            var accepts = new[] { "d1", "d2" }.Select(d => Task.Run(async () =>
                await h.Calls.AcceptAsync(h.Device(d), callId, CancellationToken.None))).ToList();
            var seqs = await Task.WhenAll(signals);
            var results = await Task.WhenAll(accepts);

            var winner = Assert.Single(results, r => r.IsSuccess).Value.AcceptedDeviceId!;
            var loser = winner == "d1" ? "d2" : "d1";
            var delivered = h.Transport.Sent
                .Where(s => s.Target == $"device:{h.Owner}/{winner}" && s.Event is QrCalling.Transport.SignalEvent)
                .Select(s => ((QrCalling.Transport.SignalEvent)s.Event).Seq)
                .ToHashSet();
            Assert.Subset(delivered, seqs.ToHashSet());
            Assert.DoesNotContain(h.Transport.ForDevice(h.Owner, loser), e => e is QrCalling.Transport.SignalEvent);
            Assert.Equal(21, seqs.Distinct().Count() + 1); // 20 distinct signal seqs (plus call-accepted)
        }
    }

    [Fact]
    public async Task SignalAsync_AcceptLandsBetweenLoadAndAppend_WinnerStillGetsTheEarlySignal()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        // The caller's signal loads the call while it rings; before its append lands, d1 accepts (and finds no early entry).
        h.Hooked.BeforeNextAppend = async () => Assert.True((await h.Calls.AcceptAsync(h.Device("d1"), callId, CancellationToken.None)).IsSuccess);

        var seq = (await h.Calls.SignalAsync(caller, callId, "offer", CallHarness.Json("""{"sdp":"late"}"""), CancellationToken.None)).Value;

        var offer = Assert.Single(h.Transport.ForDevice(h.Owner, "d1").OfType<QrCalling.Transport.SignalEvent>());
        Assert.Equal(seq, offer.Seq);
        Assert.Equal("late", offer.Data.GetProperty("sdp").GetString());
        Assert.DoesNotContain(h.Transport.ForDevice(h.Owner, "d2"), e => e is QrCalling.Transport.SignalEvent);
    }

    [Fact]
    public async Task FullSetUp_AfterStart_ReadsTheCallOnce_TheCallersJoin()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var d1 = h.Device("d1");
        var reads = h.Hooked.CountedCalls;

        Assert.Equal(caller, await h.Calls.AuthenticateCallerAsync(started.CallToken, CancellationToken.None)); // issued here: no look-up
        Assert.Empty((await h.Calls.CallerJoinedAsync(caller, firstConnection: true, CancellationToken.None))!); // ringing
        Assert.Equal((1, 0), (reads.Reads, reads.TokenLookups));
        Assert.True((await h.Calls.AcceptAsync(d1, callId, CancellationToken.None)).IsSuccess);
        Assert.True((await h.Calls.SignalAsync(caller, callId, "offer", CallHarness.Json("""{"sdp":"o"}"""), CancellationToken.None)).IsSuccess);
        Assert.True((await h.Calls.SignalAsync(d1, callId, "answer", CallHarness.Json("""{"sdp":"a"}"""), CancellationToken.None)).IsSuccess);
        Assert.True((await h.Calls.HangupAsync(caller, callId, CancellationToken.None)).IsSuccess);
        await h.Calls.DisconnectedAsync(caller, callId, CancellationToken.None);

        // Accept starts from the record the start cached, the relays and the hang-up from the accepted one, and the
        // disconnect after the end from the ended one: the join's read (after joining the group) is the only one.
        Assert.Equal((1, 0), (reads.Reads, reads.TokenLookups));
        var ended = await h.Storage.Calls.GetAsync(callId, CancellationToken.None);
        Assert.Equal((CallState.Ended, CallEndReason.Hangup, (DateTimeOffset?)null), (ended!.State, ended.EndReason, ended.CallerGoneSince));
        Assert.Contains(h.Transport.ForDevice(h.Owner, "d1"), e => e is CallEndedEvent { Reason: "hangup" });
    }

    [Fact]
    public async Task CallerJoinedAsync_AcceptedBeforeTheJoin_ReturnsCallAcceptedAndTheAnswerFromOneRead()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        var d1 = h.Device("d1");
        Assert.True((await h.Calls.AcceptAsync(d1, callId, CancellationToken.None)).IsSuccess);
        var answer = (await h.Calls.SignalAsync(d1, callId, "answer", CallHarness.Json("""{"sdp":"a"}"""), CancellationToken.None)).Value;
        var before = h.Hooked.CountedCalls.Reads;

        var missed = await h.Calls.CallerJoinedAsync(caller, firstConnection: true, CancellationToken.None);

        Assert.Equal(before + 1, h.Hooked.CountedCalls.Reads);
        Assert.IsType<CallAcceptedEvent>(missed![0]);
        Assert.Equal(answer, Assert.IsType<SignalEvent>(Assert.Single(missed, e => e is SignalEvent)).Seq);
        // A second connection of the same caller changes no presence and still catches up.
        Assert.Equal(missed.Count, (await h.Calls.CallerJoinedAsync(caller, firstConnection: false, CancellationToken.None))!.Count);
    }

    [Fact]
    public async Task AuthenticateCallerAsync_TokenIssuedHere_NoLookupForAMinute_ThenLookedUpAndStillAdmitted()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var lookups = h.Hooked.CountedCalls;

        Assert.Equal(caller, await h.Calls.AuthenticateCallerAsync(started.CallToken, CancellationToken.None));
        h.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(caller, await h.Calls.AuthenticateCallerAsync(started.CallToken, CancellationToken.None));
        Assert.Equal(0, lookups.TokenLookups);

        h.Time.Advance(TimeSpan.FromSeconds(2)); // past the minute: the store decides (the call has not expired)
        Assert.Equal(caller, await h.Calls.AuthenticateCallerAsync(started.CallToken, CancellationToken.None));
        Assert.Equal(1, lookups.TokenLookups);
    }

    [Fact]
    public async Task CallerJoinedAsync_CallErasedAfterTheTokenWasResolved_IsNull_AndCommandsAreNotParticipant()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;

        Assert.Equal(1, (await h.Storage.EraseOwnerAsync(h.Owner, CancellationToken.None)).Calls);

        // Still remembered as issued here (no look-up), so the caller is resolved; the call itself is gone.
        Assert.Equal(caller, await h.Calls.AuthenticateCallerAsync(started.CallToken, CancellationToken.None));
        Assert.Null(await h.Calls.CallerJoinedAsync(caller, firstConnection: true, CancellationToken.None));
        Assert.Null(await h.Calls.CallerJoinedAsync(caller, firstConnection: false, CancellationToken.None));
        Assert.Empty(await h.Calls.CatchUpAsync(caller, CancellationToken.None));
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.HangupAsync(caller, callId, CancellationToken.None)).Error?.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, (await h.Calls.GetAsync(caller, callId, CancellationToken.None)).Error?.Code);
    }

    [Fact]
    public async Task AcceptAsync_CachedRingingRecord_AcceptedOnAnotherInstance_LosesAndKeepsTheOtherWinner()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, _) = await h.StartAsync();
        var callId = started.Call.CallId;
        // Another instance (straight to the store) accepts on device d9; this instance still has the ringing record.
        Assert.NotNull(await h.Storage.Calls.TryAcceptAsync(callId, "d9", CallHarness.T0, CancellationToken.None));

        var result = await h.Calls.AcceptAsync(h.Device("d1"), callId, CancellationToken.None);

        Assert.Equal(QrCallingErrorCodes.InvalidState, result.Error?.Code);
        Assert.Equal("d9", (await h.Storage.Calls.GetAsync(callId, CancellationToken.None))!.AcceptedDeviceId);
        Assert.DoesNotContain(h.Transport.ForCaller(callId), e => e is CallAcceptedEvent);
    }

    [Fact]
    public async Task HangupAsync_CachedActiveRecord_EndedOnAnotherInstance_IsInvalidStateAndKeepsTheFirstEnd()
    {
        using var h = CallHarness.CreateHooked();
        var (_, started, caller) = await h.StartAsync();
        var callId = started.Call.CallId;
        Assert.True((await h.Calls.AcceptAsync(h.Device("d1"), callId, CancellationToken.None)).IsSuccess);
        Assert.NotNull(await h.Storage.Calls.TryEndAsync(callId, CallState.Active, CallEndReason.Timeout, CallHarness.T0, CancellationToken.None));

        var result = await h.Calls.HangupAsync(caller, callId, CancellationToken.None);

        Assert.Equal(QrCallingErrorCodes.InvalidState, result.Error?.Code);
        Assert.Equal(CallEndReason.Timeout, (await h.Storage.Calls.GetAsync(callId, CancellationToken.None))!.EndReason);
        Assert.DoesNotContain(h.Transport.Sent, s => s.Event is CallEndedEvent);
    }

    [Fact]
    public void Usable_ByCommandAndRecord_OnlyWhereTheStoreCatchesAStaleRecord()
    {
        var caller = CallActor.Caller("call_x");
        var device = CallActor.OwnerDevice("o", "d");
        var open = new CallRecord
        {
            CallId = "call_x", CodeId = "c", OwnerId = "o", CallerId = "p1", CalleeId = "p2", CallTokenHash = [1], Label = "",
            Media = MediaKind.Audio, State = CallState.Active, CreatedAt = CallHarness.T0, RingExpiresAt = CallHarness.T0, ExpiresAt = CallHarness.T0,
        };
        var signal = new CallCommand.Signal(caller, "offer", CallHarness.Json("{}"));
        Assert.True(QrCalling.Calls.Internal.CallCommands.Usable(open, signal));
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open with { State = CallState.Ringing }, signal));
        Assert.True(QrCalling.Calls.Internal.CallCommands.Usable(open with { State = CallState.Ringing }, new CallCommand.Accept(device)));
        Assert.True(QrCalling.Calls.Internal.CallCommands.Usable(open, new CallCommand.Hangup(caller)));
        // A gone mark may be stale (cleared elsewhere) and would make the machine end the call as dropped.
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open with { CallerGoneSince = CallHarness.T0 }, new CallCommand.Hangup(caller)));
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open with { CalleeGoneSince = CallHarness.T0 }, new CallCommand.Accept(device)));
        // Presence and the sweep always read; an ended call is final for every command.
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open, new CallCommand.Connected(caller)));
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open, new CallCommand.Disconnected(caller)));
        Assert.False(QrCalling.Calls.Internal.CallCommands.Usable(open, new CallCommand.Tick()));
        Assert.True(QrCalling.Calls.Internal.CallCommands.Usable(open with { State = CallState.Ended }, new CallCommand.Connected(caller)));
    }
}

public sealed class CallWireNamesTests
{
    [Fact]
    public void ToWireNameAndTryParse_EveryStateAndReason_RoundTripInLowerCase()
    {
        foreach (var reason in Enum.GetValues<CallEndReason>())
        {
            var name = CallWireNames.ToWireName(reason);
            Assert.Equal(reason.ToString().ToLowerInvariant(), name);
            Assert.True(CallWireNames.TryParseEndReason(name, out var parsed));
            Assert.Equal(reason, parsed);
        }
        foreach (var state in Enum.GetValues<CallState>())
        {
            Assert.True(CallWireNames.TryParseState(CallWireNames.ToWireName(state), out var parsed));
            Assert.Equal(state, parsed);
        }
        Assert.False(CallWireNames.TryParseEndReason("Hangup", out _));
        Assert.False(CallWireNames.TryParseState(null, out _));
    }
}
