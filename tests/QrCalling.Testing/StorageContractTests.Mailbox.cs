using QrCalling.Calls;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

public abstract partial class StorageContractTests
{
    /// <summary>Budgets large enough not to matter for a test that is not about them.</summary>
    protected static readonly MailboxBudget LargeBudget = new(SideBytes: 1 << 24, RingingBytes: 1 << 24);

    /// <summary>A mailbox entry as the call service appends it (seq ignored by storage).</summary>
    protected static MailboxEntry NewMailboxEntry(string type, string from = "caller-x", CallSide? to = CallSide.Callee,
        string dataJson = """{"sdp":"v=0"}""", DateTimeOffset? at = null) => new()
    {
        Type = type,
        From = from,
        To = to,
        DataJson = dataJson,
        At = at ?? T0,
    };

    /// <summary>A lifecycle entry (readable by both sides).</summary>
    protected static MailboxEntry NewLifecycleEntry(string type = "call-accepted") =>
        NewMailboxEntry(type, from: "server", to: null, dataJson: "{}");

    /// <summary>A stored call, Ringing, or Active when <paramref name="active"/>.</summary>
    private async Task<CallRecord> OpenCallAsync(bool active = true)
    {
        var call = NewCallRecord(NewId("owner"));
        await Storage.Calls.CreateAsync(call, CancellationToken.None);
        if (active)
        {
            Assert.NotNull(await Storage.Calls.TryAcceptAsync(call.CallId, "device-1", T0.AddSeconds(1), CancellationToken.None));
        }
        return call;
    }

    private async Task<long> AppendOkAsync(string callId, MailboxEntry entry, MailboxBudget? budget = null)
    {
        var result = await Storage.Mailbox.AppendAsync(callId, entry, budget ?? LargeBudget, CancellationToken.None);
        Assert.Equal(MailboxAppendStatus.Appended, result.Status);
        return result.Seq;
    }

    [Fact]
    public async Task MailboxAppend_Sequential_GivesSeqsFromOneWithoutGaps()
    {
        var call = await OpenCallAsync();

        var seqs = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            seqs.Add(await AppendOkAsync(call.CallId, NewMailboxEntry("ice-candidate") with { Seq = 99 }));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], seqs);
        Assert.Equal(5, await Storage.Mailbox.GetLastSeqAsync(call.CallId, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_HundredParallelBothSides_GivesDistinctSeqsOneToHundred()
    {
        var call = await OpenCallAsync();

        var seqs = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
            await AppendOkAsync(call.CallId, NewMailboxEntry("ice-candidate", to: i % 2 == 0 ? CallSide.Caller : CallSide.Callee,
                dataJson: $$"""{"n":{{i}}}""")))));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), seqs.Order());
        var toCaller = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 0, 1000, int.MaxValue, CancellationToken.None);
        var toCallee = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 1000, int.MaxValue, CancellationToken.None);
        Assert.Equal(50, toCaller.Count);
        Assert.Equal(50, toCallee.Count);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), toCaller.Concat(toCallee).Select(e => e.Seq).Order());
        Assert.Equal(100, toCaller.Concat(toCallee).Select(e => e.DataJson).Distinct().Count());
        Assert.Equal(100, await Storage.Mailbox.GetLastSeqAsync(call.CallId, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_TwoCalls_HaveIndependentSeqs()
    {
        var first = await OpenCallAsync();
        var second = await OpenCallAsync();

        await AppendOkAsync(first.CallId, NewMailboxEntry("offer"));
        await AppendOkAsync(first.CallId, NewMailboxEntry("answer", to: CallSide.Caller));
        var secondSeq = await AppendOkAsync(second.CallId, NewMailboxEntry("offer"));

        Assert.Equal(1, secondSeq);
        Assert.Equal(2, await Storage.Mailbox.GetLastSeqAsync(first.CallId, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_UnknownOrEndedCall_IsRefusedButLifecycleEntriesAreKept()
    {
        var unknown = NewId("call");
        var call = await OpenCallAsync();
        await AppendOkAsync(call.CallId, NewMailboxEntry("offer"));
        await Storage.Calls.TryEndAsync(call.CallId, CallState.Active, CallEndReason.Hangup, T0.AddMinutes(1), CancellationToken.None);

        var toUnknown = await Storage.Mailbox.AppendAsync(unknown, NewMailboxEntry("offer"), LargeBudget, CancellationToken.None);
        var afterEnd = await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("answer", to: CallSide.Caller), LargeBudget, CancellationToken.None);
        var lifecycle = await Storage.Mailbox.AppendAsync(call.CallId, NewLifecycleEntry("call-ended"), LargeBudget, CancellationToken.None);

        Assert.Equal(MailboxAppendResult.CallNotOpen, toUnknown);
        Assert.Equal(MailboxAppendResult.CallNotOpen, afterEnd);
        Assert.Equal(MailboxAppendResult.Appended(2), lifecycle);
        var seen = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 0, 10, int.MaxValue, CancellationToken.None);
        Assert.Equal(["call-ended"], seen.Select(e => e.Type));
    }

    [Fact]
    public async Task MailboxAppend_RingingCall_UsesTheRingingBudgetAndActiveTheSideBudget()
    {
        var call = await OpenCallAsync(active: false);
        var entry = NewMailboxEntry("offer", dataJson: "\"" + new string('x', 436) + "\""); // 438 + 64 = 502 bytes
        Assert.Equal(502, entry.Size);
        var budget = new MailboxBudget(SideBytes: 2000, RingingBytes: 1100);

        var first = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        var second = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        var third = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        Assert.NotNull(await Storage.Calls.TryAcceptAsync(call.CallId, "device-1", T0.AddSeconds(1), CancellationToken.None));
        var fourth = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        var fifth = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);

        Assert.Equal([MailboxAppendStatus.Appended, MailboxAppendStatus.Appended, MailboxAppendStatus.Full, MailboxAppendStatus.Appended, MailboxAppendStatus.Full],
            [first.Status, second.Status, third.Status, fourth.Status, fifth.Status]);
        Assert.Equal(3, fourth.Seq); // a refused append uses no seq
        Assert.Equal(3 * 502, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(0, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Caller, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_BudgetIsPerSide_OneFullSideDoesNotBlockTheOther()
    {
        var call = await OpenCallAsync();
        var budget = new MailboxBudget(SideBytes: 600, RingingBytes: 600);
        var entry = NewMailboxEntry("ice-candidate", dataJson: "\"" + new string('c', 498) + "\""); // 564 bytes

        await AppendOkAsync(call.CallId, entry, budget);
        var full = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        var otherSide = await Storage.Mailbox.AppendAsync(call.CallId, entry with { To = CallSide.Caller }, budget, CancellationToken.None);

        Assert.Equal(MailboxAppendStatus.Full, full.Status);
        Assert.Equal(MailboxAppendResult.Appended(2, 564), otherSide); // the other side's pending bytes, this entry's
    }

    [Fact]
    public async Task MailboxAppend_ToASide_ReportsThatSidesPendingBytesIncludingTheEntry()
    {
        var call = await OpenCallAsync();
        var entry = NewMailboxEntry("ice-candidate", dataJson: "\"" + new string('c', 34) + "\""); // 100 bytes

        var first = await Storage.Mailbox.AppendAsync(call.CallId, entry, LargeBudget, CancellationToken.None);
        var second = await Storage.Mailbox.AppendAsync(call.CallId, entry, LargeBudget, CancellationToken.None);
        var toCaller = await Storage.Mailbox.AppendAsync(call.CallId, entry with { To = CallSide.Caller }, LargeBudget, CancellationToken.None);
        var lifecycle = await Storage.Mailbox.AppendAsync(call.CallId, NewLifecycleEntry(), LargeBudget, CancellationToken.None);
        await Storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, second.Seq, CancellationToken.None);
        var afterAck = await Storage.Mailbox.AppendAsync(call.CallId, entry, LargeBudget, CancellationToken.None);

        Assert.Equal([100L, 200L, 100L, 0L, 100L], [first.PendingBytes, second.PendingBytes, toCaller.PendingBytes, lifecycle.PendingBytes, afterAck.PendingBytes]);
        Assert.Equal(afterAck.PendingBytes, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_ParallelAgainstABudget_AdmitsExactlyWhatFitsWithGapFreeSeqs()
    {
        var call = await OpenCallAsync();
        var entry = NewMailboxEntry("ice-candidate", dataJson: "\"" + new string('c', 34) + "\""); // 100 bytes
        var budget = new MailboxBudget(SideBytes: 2500, RingingBytes: 2500);

        var results = await Task.WhenAll(Enumerable.Range(0, 80).Select(_ => Task.Run(async () =>
            await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None))));

        var appended = results.Where(r => r.Status == MailboxAppendStatus.Appended).Select(r => r.Seq).Order().ToArray();
        Assert.Equal(Enumerable.Range(1, 25).Select(i => (long)i), appended);
        Assert.Equal(55, results.Count(r => r.Status == MailboxAppendStatus.Full));
        Assert.Equal(2500, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAcknowledge_FreesTheBudgetAndTrimsOnlyThatSideUpToTheSeq()
    {
        var call = await OpenCallAsync();
        var entry = NewMailboxEntry("ice-candidate", dataJson: "\"" + new string('c', 34) + "\""); // 100 bytes
        var budget = new MailboxBudget(SideBytes: 300, RingingBytes: 300);
        await AppendOkAsync(call.CallId, entry, budget);                              // 1 to callee
        await AppendOkAsync(call.CallId, entry with { To = CallSide.Caller }, budget); // 2 to caller
        await AppendOkAsync(call.CallId, NewLifecycleEntry(), budget);                // 3 both
        await AppendOkAsync(call.CallId, entry, budget);                              // 4 to callee
        await AppendOkAsync(call.CallId, entry, budget);                              // 5 to callee
        Assert.Equal(MailboxAppendStatus.Full, (await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Status);

        var trimmed = await Storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, 4, CancellationToken.None);
        var again = await Storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, 4, CancellationToken.None);
        var backwards = await Storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, 1, CancellationToken.None);

        Assert.Equal(2, trimmed);
        Assert.Equal(0, again);
        Assert.Equal(0, backwards);
        Assert.Equal(100, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(100, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Caller, CancellationToken.None));
        Assert.Equal(MailboxAppendResult.Appended(6, 200), await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None));
        var callee = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 100, int.MaxValue, CancellationToken.None);
        var caller = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 0, 100, int.MaxValue, CancellationToken.None);
        Assert.Equal([3L, 5L, 6L], callee.Select(e => e.Seq));
        Assert.Equal([2L, 3L], caller.Select(e => e.Seq));
    }

    [Fact]
    public async Task MailboxAcknowledge_RacingAppends_KeepsTheBudgetExact()
    {
        var call = await OpenCallAsync();
        var entry = NewMailboxEntry("ice-candidate", dataJson: "\"" + new string('c', 34) + "\""); // 100 bytes
        var budget = new MailboxBudget(SideBytes: 1000, RingingBytes: 1000);
        var appended = new System.Collections.Concurrent.ConcurrentBag<long>();

        var full = 0;
        // Fill the window first, so the race below starts from a full window on every store, however fast it is.
        MailboxAppendResult first;
        while ((first = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Status == MailboxAppendStatus.Appended)
        {
            appended.Add(first.Seq);
        }
        full++;
        var writer = Task.Run(async () =>
        {
            // 50 entries through a window of 10: the writer waits for the reader's acknowledgements (bounded in time).
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (appended.Count < 50 && clock.Elapsed < TimeSpan.FromSeconds(20))
            {
                var result = await Storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
                if (result.Status == MailboxAppendStatus.Appended)
                {
                    appended.Add(result.Seq);
                }
                else
                {
                    full++;
                    await Task.Yield();
                }
            }
        });
        var reader = Task.Run(async () =>
        {
            long acked = 0;
            while (!writer.IsCompleted)
            {
                await Task.Delay(2); // a reader slower than the writer, so the window does fill
                var page = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, acked, 5, int.MaxValue, CancellationToken.None);
                if (page.Count > 0)
                {
                    acked = page[^1].Seq;
                    await Storage.Mailbox.AcknowledgeAsync(call.CallId, CallSide.Callee, acked, CancellationToken.None);
                }
            }
        });
        await Task.WhenAll(writer, reader);

        var left = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 1000, int.MaxValue, CancellationToken.None);
        Assert.Equal(left.Count * 100L, await Storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), appended.Order());
        Assert.True(full > 0, "the window never filled, so the race was not exercised");
        Assert.True(left.Count <= 10);
    }

    [Fact]
    public async Task MailboxRead_FiltersBySideWithAfterMaxCountAndEveryField()
    {
        var call = await OpenCallAsync();
        for (var i = 1; i <= 6; i++)
        {
            await AppendOkAsync(call.CallId, NewMailboxEntry(i % 2 == 0 ? "chat" : "ice-candidate", from: $"from-{i}",
                to: i == 6 ? null : i == 3 ? CallSide.Callee : CallSide.Caller, dataJson: $$"""{"i":{{i}}}""", at: T0.AddSeconds(i)));
        }

        var page = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 1, 3, int.MaxValue, CancellationToken.None);
        var tail = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 5, 10, int.MaxValue, CancellationToken.None);
        var none = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Caller, 6, 10, int.MaxValue, CancellationToken.None);
        var callee = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None);

        Assert.Equal([2L, 4L, 5L], page.Select(e => e.Seq));
        Assert.Equal("chat", page[1].Type);
        Assert.Equal("from-4", page[1].From);
        Assert.Equal(CallSide.Caller, page[1].To);
        Assert.Equal("""{"i":4}""", page[1].DataJson.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(T0.AddSeconds(4), page[1].At);
        var last = Assert.Single(tail);
        Assert.Null(last.To);
        Assert.Empty(none);
        Assert.Equal([3L, 6L], callee.Select(e => e.Seq));
    }

    [Fact]
    public async Task MailboxRead_MaxBytes_BoundsThePageButAlwaysReturnsOneEntry()
    {
        var call = await OpenCallAsync();
        var entry = NewMailboxEntry("offer", dataJson: "\"" + new string('s', 934) + "\""); // 1000 bytes
        for (var i = 0; i < 5; i++)
        {
            await AppendOkAsync(call.CallId, entry);
        }

        var bounded = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 100, 2500, CancellationToken.None);
        var tiny = await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 2, 100, 10, CancellationToken.None);

        Assert.Equal([1L, 2L], bounded.Select(e => e.Seq));
        Assert.Equal([3L], tiny.Select(e => e.Seq));
    }

    [Fact]
    public async Task MailboxGetLastSeqAndRead_UnknownCall_ZeroAndEmpty()
    {
        var callId = NewId("call");

        Assert.Equal(0, await Storage.Mailbox.GetLastSeqAsync(callId, CancellationToken.None));
        Assert.Equal(0, await Storage.Mailbox.GetPendingBytesAsync(callId, CallSide.Caller, CancellationToken.None));
        Assert.Empty(await Storage.Mailbox.ReadAsync(callId, CallSide.Caller, 0, 10, int.MaxValue, CancellationToken.None));
        Assert.Equal(0, await Storage.Mailbox.AcknowledgeAsync(callId, CallSide.Caller, 10, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxDeleteForCallsEndedBefore_OldEndedCall_DeletesItsEntriesBoundedAndKeepsOthers()
    {
        var owner = NewId("owner");
        var endedLongAgo = NewCallRecord(owner);
        var endedRecently = NewCallRecord(owner);
        var open = NewCallRecord(owner);
        foreach (var call in new[] { endedLongAgo, endedRecently, open })
        {
            await Storage.Calls.CreateAsync(call, CancellationToken.None);
            for (var i = 0; i < 3; i++)
            {
                await AppendOkAsync(call.CallId, NewMailboxEntry("ice-candidate"));
            }
        }
        await Storage.Calls.TryEndAsync(endedLongAgo.CallId, CallState.Ringing, CallEndReason.Canceled, T0.AddMinutes(1), CancellationToken.None);
        await Storage.Calls.TryEndAsync(endedRecently.CallId, CallState.Ringing, CallEndReason.Canceled, T0.AddHours(1), CancellationToken.None);

        var first = await Storage.Mailbox.DeleteForCallsEndedBeforeAsync(T0.AddMinutes(30), 2, CancellationToken.None);
        var second = await Storage.Mailbox.DeleteForCallsEndedBeforeAsync(T0.AddMinutes(30), 100, CancellationToken.None);
        var third = await Storage.Mailbox.DeleteForCallsEndedBeforeAsync(T0.AddMinutes(30), 100, CancellationToken.None);

        Assert.Equal(2, first);
        Assert.Equal(1, second);
        Assert.Equal(0, third);
        Assert.Empty(await Storage.Mailbox.ReadAsync(endedLongAgo.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None));
        Assert.Equal(3, (await Storage.Mailbox.ReadAsync(endedRecently.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None)).Count);
        Assert.Equal(3, (await Storage.Mailbox.ReadAsync(open.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None)).Count);
        Assert.NotNull(await Storage.Calls.GetAsync(endedLongAgo.CallId, CancellationToken.None));
    }
}
