using QrCalling.Calls;
using Xunit;

namespace QrCalling.Testing;

public abstract partial class StorageContractTests
{
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

    [Fact]
    public async Task MailboxAppend_Sequential_GivesSeqsFromOneWithoutGaps()
    {
        var callId = NewId("call");

        var seqs = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            seqs.Add(await Storage.Mailbox.AppendAsync(callId, NewMailboxEntry("ice-candidate") with { Seq = 99 }, CancellationToken.None));
        }

        Assert.Equal([1L, 2L, 3L, 4L, 5L], seqs);
        Assert.Equal(5, await Storage.Mailbox.GetLastSeqAsync(callId, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_HundredParallel_GivesDistinctSeqsOneToHundred()
    {
        var callId = NewId("call");

        var seqs = await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
            await Storage.Mailbox.AppendAsync(callId, NewMailboxEntry("ice-candidate", dataJson: $$"""{"n":{{i}}}"""), CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), seqs.Order());
        var stored = await Storage.Mailbox.ReadAsync(callId, 0, 1000, CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), stored.Select(e => e.Seq));
        Assert.Equal(100, stored.Select(e => e.DataJson).Distinct().Count());
        Assert.Equal(100, await Storage.Mailbox.GetLastSeqAsync(callId, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxAppend_TwoCalls_HaveIndependentSeqs()
    {
        var first = NewId("call");
        var second = NewId("call");

        await Storage.Mailbox.AppendAsync(first, NewMailboxEntry("offer"), CancellationToken.None);
        await Storage.Mailbox.AppendAsync(first, NewMailboxEntry("answer"), CancellationToken.None);
        var secondSeq = await Storage.Mailbox.AppendAsync(second, NewMailboxEntry("offer"), CancellationToken.None);

        Assert.Equal(1, secondSeq);
        Assert.Equal(2, await Storage.Mailbox.GetLastSeqAsync(first, CancellationToken.None));
    }

    [Fact]
    public async Task MailboxRead_AfterAndMaxCount_ReturnsThoseEntriesInOrderWithEveryField()
    {
        var callId = NewId("call");
        for (var i = 1; i <= 6; i++)
        {
            await Storage.Mailbox.AppendAsync(callId, NewMailboxEntry(i % 2 == 0 ? "chat" : "ice-candidate", from: $"from-{i}",
                to: i == 6 ? null : CallSide.Caller, dataJson: $$"""{"i":{{i}}}""", at: T0.AddSeconds(i)), CancellationToken.None);
        }

        var page = await Storage.Mailbox.ReadAsync(callId, 2, 3, CancellationToken.None);
        var tail = await Storage.Mailbox.ReadAsync(callId, 5, 10, CancellationToken.None);
        var none = await Storage.Mailbox.ReadAsync(callId, 6, 10, CancellationToken.None);

        Assert.Equal([3L, 4L, 5L], page.Select(e => e.Seq));
        Assert.Equal("chat", page[1].Type);
        Assert.Equal("from-4", page[1].From);
        Assert.Equal(CallSide.Caller, page[1].To);
        Assert.Equal("""{"i":4}""", page[1].DataJson.Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal(T0.AddSeconds(4), page[1].At);
        var last = Assert.Single(tail);
        Assert.Null(last.To);
        Assert.Empty(none);
    }

    [Fact]
    public async Task MailboxGetLastSeqAndRead_UnknownCall_ZeroAndEmpty()
    {
        var callId = NewId("call");

        Assert.Equal(0, await Storage.Mailbox.GetLastSeqAsync(callId, CancellationToken.None));
        Assert.Empty(await Storage.Mailbox.ReadAsync(callId, 0, 10, CancellationToken.None));
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
                await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("ice-candidate"), CancellationToken.None);
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
        Assert.Empty(await Storage.Mailbox.ReadAsync(endedLongAgo.CallId, 0, 10, CancellationToken.None));
        Assert.Equal(3, (await Storage.Mailbox.ReadAsync(endedRecently.CallId, 0, 10, CancellationToken.None)).Count);
        Assert.Equal(3, (await Storage.Mailbox.ReadAsync(open.CallId, 0, 10, CancellationToken.None)).Count);
        Assert.NotNull(await Storage.Calls.GetAsync(endedLongAgo.CallId, CancellationToken.None));
    }
}
