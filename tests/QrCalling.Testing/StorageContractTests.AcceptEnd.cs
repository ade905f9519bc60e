using QrCalling.Calls;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

/// <summary>IStorage.TryAcceptCallAsync and TryEndCallAsync: a state change and its lifecycle entry as one step.</summary>
public abstract partial class StorageContractTests
{
    /// <summary>A ringing call as the call service stores it: started from a scan of a new code.</summary>
    private async Task<CallRecord> StartedCallAsync()
    {
        var code = NewCodeRecord(NewId("owner"));
        await Storage.Codes.CreateAsync(code, CancellationToken.None);
        var call = CallFor(code);
        Assert.NotNull(await Storage.TryStartCallAsync(code.KeyHash, call, T0, CancellationToken.None));
        return call;
    }

    private async Task<IReadOnlyList<MailboxEntry>> AllEntriesAsync(string callId, CallSide side) =>
        await Storage.Mailbox.ReadAsync(callId, side, 0, 10_000, int.MaxValue, CancellationToken.None);

    [Fact]
    public async Task AcceptCall_Ringing_AcceptsAndAppendsTheLifecycleEntryOnce()
    {
        var call = await OpenCallAsync(active: false);
        var lifecycle = NewLifecycleEntry("call-accepted") with { At = T0.AddSeconds(2) };

        var won = await Storage.TryAcceptCallAsync(call.CallId, "device-1", lifecycle, T0.AddSeconds(2), CancellationToken.None);
        var again = await Storage.TryAcceptCallAsync(call.CallId, "device-2", lifecycle, T0.AddSeconds(3), CancellationToken.None);

        Assert.NotNull(won);
        Assert.Null(again);
        Assert.Equal((CallState.Active, "device-1", T0.AddSeconds(2)), (won.Call.State, won.Call.AcceptedDeviceId, won.Call.AnsweredAt));
        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);
        Assert.Equal((CallState.Active, "device-1"), (stored!.State, stored.AcceptedDeviceId));
        foreach (var side in new[] { CallSide.Caller, CallSide.Callee })
        {
            var entry = Assert.Single(await AllEntriesAsync(call.CallId, side));
            Assert.Equal(("call-accepted", "server", (CallSide?)null, 1L, T0.AddSeconds(2)), (entry.Type, entry.From, entry.To, entry.Seq, entry.At));
        }
    }

    [Fact]
    public async Task AcceptCall_AfterEarlyEntries_SaysThereMayBeSome_AndTheLifecycleEntryFollowsThem()
    {
        var call = await OpenCallAsync(active: false);
        await AppendOkAsync(call.CallId, NewMailboxEntry("offer"));
        await AppendOkAsync(call.CallId, NewMailboxEntry("ice-candidate"));

        var won = await Storage.TryAcceptCallAsync(call.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None);

        Assert.NotNull(won);
        Assert.True(won.MayHaveEarlyEntries);
        Assert.Equal([1L, 2L, 3L], (await AllEntriesAsync(call.CallId, CallSide.Callee)).Select(e => e.Seq));
        Assert.Equal(3, await Storage.Mailbox.GetLastSeqAsync(call.CallId, CancellationToken.None));
    }

    [Fact]
    public async Task AcceptCall_UnknownOrEnded_ReturnsNullAndAppendsNothing()
    {
        var ended = await OpenCallAsync(active: false);
        Assert.NotNull(await Storage.Calls.TryEndAsync(ended.CallId, CallState.Ringing, CallEndReason.Canceled, T0.AddSeconds(1), CancellationToken.None));

        Assert.Null(await Storage.TryAcceptCallAsync(ended.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None));
        Assert.Null(await Storage.TryAcceptCallAsync(NewId("call"), "device-1", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None));

        Assert.Empty(await AllEntriesAsync(ended.CallId, CallSide.Caller));
        Assert.Equal(0, await Storage.Mailbox.GetLastSeqAsync(ended.CallId, CancellationToken.None));
    }

    [Fact]
    public async Task AcceptCall_EightDevicesAtOnce_OneWinsAndOneLifecycleEntryIsStored()
    {
        var call = await OpenCallAsync(active: false);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            await Storage.TryAcceptCallAsync(call.CallId, $"device-{i}", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None))));

        var winner = Assert.Single(outcomes, o => o is not null);
        Assert.Equal(winner!.Call.AcceptedDeviceId, (await Storage.Calls.GetAsync(call.CallId, CancellationToken.None))!.AcceptedDeviceId);
        Assert.Single(await AllEntriesAsync(call.CallId, CallSide.Caller));
    }

    /// <summary>The promise that lets the call service skip reading early entries: when an accept says there are none,
    /// every entry the caller addressed to the callee, however it raced the accept, is ordered after the accept's
    /// lifecycle entry (so its sender, whose append finished after the accept, finds the call Active).</summary>
    [Fact]
    public async Task AcceptCall_RacingEarlyAppends_NeverSaysNoneWhenOneWasStoredBefore()
    {
        for (var round = 0; round < 40; round++)
        {
            var call = round % 2 == 0 ? await StartedCallAsync() : await OpenCallAsync(active: false);
            var appends = Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
                await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("ice-candidate", dataJson: $$"""{"n":{{i}}}"""), LargeBudget, CancellationToken.None))).ToArray();
            var acceptance = await Task.Run(async () =>
                await Storage.TryAcceptCallAsync(call.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None));
            await Task.WhenAll(appends);

            Assert.NotNull(acceptance);
            var all = await AllEntriesAsync(call.CallId, CallSide.Callee);
            Assert.Equal(Enumerable.Range(1, 5).Select(i => (long)i), all.Select(e => e.Seq));
            var lifecycleSeq = Assert.Single(all, e => e.To is null).Seq;
            if (!acceptance.MayHaveEarlyEntries)
            {
                Assert.All(all.Where(e => e.To == CallSide.Callee), e => Assert.True(e.Seq > lifecycleSeq, $"round {round}: early entry {e.Seq} before the accept at {lifecycleSeq}"));
            }
        }
    }

    [Fact]
    public async Task EndCall_FromExpectedState_EndsAndAppendsTheLifecycleEntryOnce_OtherwiseNothing()
    {
        var call = await OpenCallAsync(active: true);
        var ended = NewLifecycleEntry("call-ended") with { DataJson = """{"reason":"hangup"}""" };

        Assert.Null(await Storage.TryEndCallAsync(call.CallId, CallState.Ringing, CallEndReason.Hangup, ended, T0.AddSeconds(5), CancellationToken.None));
        Assert.Empty(await AllEntriesAsync(call.CallId, CallSide.Caller));

        var first = await Storage.TryEndCallAsync(call.CallId, CallState.Active, CallEndReason.Hangup, ended, T0.AddSeconds(5), CancellationToken.None);
        var second = await Storage.TryEndCallAsync(call.CallId, CallState.Active, CallEndReason.Hangup, ended, T0.AddSeconds(6), CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal((CallState.Ended, CallEndReason.Hangup, T0.AddSeconds(5)), (first.State, first.EndReason, first.EndedAt));
        var entry = Assert.Single(await AllEntriesAsync(call.CallId, CallSide.Callee));
        Assert.Equal(("call-ended", """{"reason":"hangup"}""", 1L), (entry.Type, entry.DataJson, entry.Seq));
        Assert.Equal(MailboxAppendStatus.CallNotOpen,
            (await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("offer"), LargeBudget, CancellationToken.None)).Status);
    }

    [Fact]
    public async Task EndCall_RacingRelays_SeqsStayDistinctAndGapFree()
    {
        foreach (var started in new[] { true, false })
        {
            await EndRacingRelaysAsync(started ? await StartedCallAsync() : await OpenCallAsync(active: false));
        }
    }

    [Fact]
    public async Task AcceptCall_StartedFromAScan_AppendsTheLifecycleEntryAfterTheEarlyOnes()
    {
        var call = await StartedCallAsync();
        Assert.Equal(1, await AppendOkAsync(call.CallId, NewMailboxEntry("offer")));

        var won = await Storage.TryAcceptCallAsync(call.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), CancellationToken.None);
        var ended = await Storage.TryEndCallAsync(call.CallId, CallState.Active, CallEndReason.Hangup, NewLifecycleEntry("call-ended"), T0.AddSeconds(3), CancellationToken.None);

        Assert.True(won!.MayHaveEarlyEntries);
        Assert.NotNull(ended);
        Assert.Equal([(1L, "offer"), (2L, "call-accepted"), (3L, "call-ended")],
            (await AllEntriesAsync(call.CallId, CallSide.Callee)).Select(e => (e.Seq, e.Type)));
    }

    private async Task EndRacingRelaysAsync(CallRecord call)
    {
        Assert.NotNull(await Storage.TryAcceptCallAsync(call.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(1), CancellationToken.None));

        var relays = Enumerable.Range(0, 30).Select(i => Task.Run(async () =>
            await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("ice-candidate", to: i % 2 == 0 ? CallSide.Caller : CallSide.Callee,
                dataJson: $$"""{"n":{{i}}}"""), LargeBudget, CancellationToken.None))).ToArray();
        var ends = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
            await Storage.TryEndCallAsync(call.CallId, CallState.Active, CallEndReason.Hangup, NewLifecycleEntry("call-ended"), T0.AddSeconds(5), CancellationToken.None))).ToArray();
        var appended = (await Task.WhenAll(relays)).Count(r => r.Status == MailboxAppendStatus.Appended);
        Assert.Single(await Task.WhenAll(ends), e => e is not null);

        var seqs = (await AllEntriesAsync(call.CallId, CallSide.Caller)).Concat(await AllEntriesAsync(call.CallId, CallSide.Callee))
            .Select(e => e.Seq).Distinct().Order().ToList();
        Assert.Equal(Enumerable.Range(1, appended + 2).Select(i => (long)i), seqs);
    }
}
