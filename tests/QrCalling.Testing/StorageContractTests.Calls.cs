using System.Security.Cryptography;
using QrCalling.Calls;
using Xunit;

namespace QrCalling.Testing;

public abstract partial class StorageContractTests
{
    /// <summary>A ringing call created at <paramref name="createdAt"/> (default T0), with fresh ids and token hash.</summary>
    protected static CallRecord NewCallRecord(string ownerId, string? codeId = null, DateTimeOffset? createdAt = null)
    {
        var at = createdAt ?? T0;
        return new CallRecord
        {
            CallId = NewId("call"),
            CodeId = codeId ?? NewId("code"),
            OwnerId = ownerId,
            CallerId = NewId("caller"),
            CalleeId = NewId("callee"),
            CallTokenHash = RandomNumberGenerator.GetBytes(32),
            Label = "Front door",
            Media = MediaKind.Video,
            CreatedAt = at,
            RingExpiresAt = at.AddSeconds(30),
            ExpiresAt = at.AddHours(2),
        };
    }

    private async Task<CallRecord> CreateCallAsync(string ownerId, string? codeId = null, DateTimeOffset? createdAt = null)
    {
        var call = NewCallRecord(ownerId, codeId, createdAt);
        await Storage.Calls.CreateAsync(call, CancellationToken.None);
        return call;
    }

    private static async Task<List<CallRecord>> ToCallListAsync(IAsyncEnumerable<CallRecord> items)
    {
        var list = new List<CallRecord>();
        await foreach (var item in items)
        {
            list.Add(item);
        }
        return list;
    }

    [Fact]
    public async Task CallCreate_ThenGet_RoundTripsEveryField()
    {
        var call = await CreateCallAsync(NewId("owner"));

        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);

        Assert.NotNull(stored);
        Assert.Equal(call.CallId, stored.CallId);
        Assert.Equal(call.CodeId, stored.CodeId);
        Assert.Equal(call.OwnerId, stored.OwnerId);
        Assert.Equal(call.CallerId, stored.CallerId);
        Assert.Equal(call.CalleeId, stored.CalleeId);
        Assert.Equal(call.CallTokenHash, stored.CallTokenHash);
        Assert.Equal(call.Label, stored.Label);
        Assert.Equal(call.Media, stored.Media);
        Assert.Equal(CallState.Ringing, stored.State);
        Assert.Null(stored.EndReason);
        Assert.Equal(call.CreatedAt, stored.CreatedAt);
        Assert.Equal(call.RingExpiresAt, stored.RingExpiresAt);
        Assert.Equal(call.ExpiresAt, stored.ExpiresAt);
        Assert.Null(stored.AnsweredAt);
        Assert.Null(stored.EndedAt);
        Assert.Null(stored.AcceptedDeviceId);
        Assert.Null(stored.CallerGoneSince);
        Assert.Null(stored.CalleeGoneSince);
    }

    [Fact]
    public async Task CallGet_UnknownId_ReturnsNull()
    {
        Assert.Null(await Storage.Calls.GetAsync(NewId("call"), CancellationToken.None));
    }

    [Fact]
    public async Task CallFindByTokenHash_KnownAndUnknownHash_FindsOnlyThatCall()
    {
        var owner = NewId("owner");
        var call = await CreateCallAsync(owner);
        await CreateCallAsync(owner);

        var found = await Storage.Calls.FindByTokenHashAsync(call.CallTokenHash.ToArray(), CancellationToken.None);
        var unknown = await Storage.Calls.FindByTokenHashAsync(RandomNumberGenerator.GetBytes(32), CancellationToken.None);

        Assert.Equal(call.CallId, found?.CallId);
        Assert.Null(unknown);
    }

    [Fact]
    public async Task CallTryAccept_Ringing_BecomesActiveWithDevice()
    {
        var call = await CreateCallAsync(NewId("owner"));

        var accepted = await Storage.Calls.TryAcceptAsync(call.CallId, "device-1", T0.AddSeconds(3), CancellationToken.None);
        var second = await Storage.Calls.TryAcceptAsync(call.CallId, "device-2", T0.AddSeconds(4), CancellationToken.None);
        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);

        Assert.NotNull(accepted);
        Assert.Equal(CallState.Active, accepted.State);
        Assert.Equal("device-1", accepted.AcceptedDeviceId);
        Assert.Equal(T0.AddSeconds(3), accepted.AnsweredAt);
        Assert.Null(second);
        Assert.Equal("device-1", stored?.AcceptedDeviceId);
        Assert.Equal(CallState.Active, stored?.State);
    }

    [Fact]
    public async Task CallTryAccept_FiftyParallelDevices_ExactlyOneWins()
    {
        var call = await CreateCallAsync(NewId("owner"));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            await Storage.Calls.TryAcceptAsync(call.CallId, $"device-{i}", T0.AddSeconds(1), CancellationToken.None))));

        var winners = results.Where(r => r is not null).ToArray();
        Assert.Single(winners);
        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);
        Assert.Equal(winners[0]!.AcceptedDeviceId, stored?.AcceptedDeviceId);
    }

    [Fact]
    public async Task CallTryAccept_EndedOrUnknownCall_ReturnsNull()
    {
        var call = await CreateCallAsync(NewId("owner"));
        await Storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, T0.AddSeconds(1), CancellationToken.None);

        Assert.Null(await Storage.Calls.TryAcceptAsync(call.CallId, "device-1", T0.AddSeconds(2), CancellationToken.None));
        Assert.Null(await Storage.Calls.TryAcceptAsync(NewId("call"), "device-1", T0.AddSeconds(2), CancellationToken.None));
    }

    [Fact]
    public async Task CallTryEnd_ExpectedState_EndsOnceWithReason()
    {
        var call = await CreateCallAsync(NewId("owner"));
        await Storage.Calls.TryAcceptAsync(call.CallId, "device-1", T0.AddSeconds(1), CancellationToken.None);

        var ended = await Storage.Calls.TryEndAsync(call.CallId, CallState.Active, CallEndReason.Hangup, T0.AddSeconds(9), CancellationToken.None);
        var again = await Storage.Calls.TryEndAsync(call.CallId, CallState.Active, CallEndReason.Timeout, T0.AddSeconds(10), CancellationToken.None);
        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);

        Assert.NotNull(ended);
        Assert.Equal(CallState.Ended, ended.State);
        Assert.Equal(CallEndReason.Hangup, ended.EndReason);
        Assert.Equal(T0.AddSeconds(9), ended.EndedAt);
        Assert.Null(again);
        Assert.Equal(CallEndReason.Hangup, stored?.EndReason);
        Assert.Equal(T0.AddSeconds(9), stored?.EndedAt);
    }

    [Fact]
    public async Task CallTryEnd_StateDiffers_ReturnsNullAndChangesNothing()
    {
        var call = await CreateCallAsync(NewId("owner"));

        var ended = await Storage.Calls.TryEndAsync(call.CallId, CallState.Active, CallEndReason.Hangup, T0.AddSeconds(2), CancellationToken.None);
        var stored = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);

        Assert.Null(ended);
        Assert.Equal(CallState.Ringing, stored?.State);
        Assert.Null(stored?.EndReason);
    }

    [Fact]
    public async Task CallTryEnd_FiftyParallelEnds_ExactlyOneWins()
    {
        var call = await CreateCallAsync(NewId("owner"));

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
            await Storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, i % 2 == 0 ? CallEndReason.Canceled : CallEndReason.Missed,
                T0.AddSeconds(1), CancellationToken.None))));

        Assert.Single(results, r => r is not null);
    }

    [Fact]
    public async Task CallSetPresence_GoneThenBack_StoresAndClearsEachSide()
    {
        var call = await CreateCallAsync(NewId("owner"));

        await Storage.Calls.SetPresenceAsync(call.CallId, CallSide.Caller, T0.AddSeconds(5), CancellationToken.None);
        await Storage.Calls.SetPresenceAsync(call.CallId, CallSide.Callee, T0.AddSeconds(6), CancellationToken.None);
        var gone = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);
        await Storage.Calls.SetPresenceAsync(call.CallId, CallSide.Caller, null, CancellationToken.None);
        var back = await Storage.Calls.GetAsync(call.CallId, CancellationToken.None);

        Assert.Equal(T0.AddSeconds(5), gone?.CallerGoneSince);
        Assert.Equal(T0.AddSeconds(6), gone?.CalleeGoneSince);
        Assert.Null(back?.CallerGoneSince);
        Assert.Equal(T0.AddSeconds(6), back?.CalleeGoneSince);
    }

    [Fact]
    public async Task CallSetPresence_EndedCall_ChangesNothing()
    {
        var call = await CreateCallAsync(NewId("owner"));
        await Storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, T0.AddSeconds(1), CancellationToken.None);

        await Storage.Calls.SetPresenceAsync(call.CallId, CallSide.Caller, T0.AddSeconds(5), CancellationToken.None);

        Assert.Null((await Storage.Calls.GetAsync(call.CallId, CancellationToken.None))?.CallerGoneSince);
    }

    [Fact]
    public async Task CallListByOwner_LimitAndBefore_NewestFirstOnlyThatOwner()
    {
        var owner = NewId("owner");
        var calls = new List<CallRecord>();
        for (var i = 0; i < 5; i++)
        {
            calls.Add(await CreateCallAsync(owner, createdAt: T0.AddMinutes(i)));
        }
        await CreateCallAsync(NewId("other-owner"), createdAt: T0.AddMinutes(10));

        var all = await ToCallListAsync(Storage.Calls.ListByOwnerAsync(owner, 100, null, CancellationToken.None));
        var firstTwo = await ToCallListAsync(Storage.Calls.ListByOwnerAsync(owner, 2, null, CancellationToken.None));
        var beforeThird = await ToCallListAsync(Storage.Calls.ListByOwnerAsync(owner, 10, T0.AddMinutes(2), CancellationToken.None));

        Assert.Equal(calls.Select(c => c.CallId).Reverse(), all.Select(c => c.CallId));
        Assert.Equal([calls[4].CallId, calls[3].CallId], firstTwo.Select(c => c.CallId));
        Assert.Equal([calls[1].CallId, calls[0].CallId], beforeThird.Select(c => c.CallId));
    }

    [Fact]
    public async Task CallListOpen_MixedStates_ReturnsRingingAndActiveMostUrgentFirstUpToMax()
    {
        var owner = NewId("owner");
        var ringing = await CreateCallAsync(owner, createdAt: T0.AddSeconds(1));
        var active = await CreateCallAsync(owner, createdAt: T0.AddSeconds(2));
        var ended = await CreateCallAsync(owner, createdAt: T0.AddSeconds(3));
        await Storage.Calls.TryAcceptAsync(active.CallId, "device-1", T0.AddSeconds(4), CancellationToken.None);
        await Storage.Calls.TryEndAsync(ended.CallId, CallState.Ringing, CallEndReason.Missed, T0.AddSeconds(5), CancellationToken.None);

        var open = await ToCallListAsync(Storage.Calls.ListOpenAsync(1000, CancellationToken.None));
        var mine = open.Where(c => c.OwnerId == owner).Select(c => c.CallId).ToList();
        var one = await ToCallListAsync(Storage.Calls.ListOpenAsync(1, CancellationToken.None));

        Assert.Equal([ringing.CallId, active.CallId], mine);
        Assert.Single(one);
        Assert.All(open, c => Assert.NotEqual(CallState.Ended, c.State));
    }

    [Fact]
    public async Task CallListOpen_OldHealthyCallAndNewerDueCalls_ReturnsMostUrgentFirst()
    {
        // Times a year before the other tests' so that these are the most urgent calls in a shared store.
        var owner = NewId("owner");
        var early = T0.AddYears(-1);
        var longCall = await CreateCallAsync(owner, createdAt: early);
        await Storage.Calls.TryAcceptAsync(longCall.CallId, "device-1", early.AddSeconds(1), CancellationToken.None);
        var ringing = await CreateCallAsync(owner, createdAt: early.AddMinutes(10));
        var gone = await CreateCallAsync(owner, createdAt: early.AddMinutes(20));
        await Storage.Calls.TryAcceptAsync(gone.CallId, "device-1", early.AddMinutes(20).AddSeconds(1), CancellationToken.None);
        await Storage.Calls.SetPresenceAsync(gone.CallId, CallSide.Caller, early.AddMinutes(20).AddSeconds(5), CancellationToken.None);

        var two = await ToCallListAsync(Storage.Calls.ListOpenAsync(2, CancellationToken.None));
        var three = await ToCallListAsync(Storage.Calls.ListOpenAsync(3, CancellationToken.None));

        Assert.Equal([ringing.CallId, gone.CallId], two.Select(c => c.CallId));
        Assert.Equal([ringing.CallId, gone.CallId, longCall.CallId], three.Select(c => c.CallId));
    }

    [Fact]
    public async Task CallListOpenByCode_OtherCodesAndEndedCalls_AreLeftOut()
    {
        var owner = NewId("owner");
        var code = NewId("code");
        var a = await CreateCallAsync(owner, code, T0.AddSeconds(1));
        var b = await CreateCallAsync(owner, code, T0.AddSeconds(2));
        var endedOne = await CreateCallAsync(owner, code, T0.AddSeconds(3));
        await CreateCallAsync(owner, NewId("code"), T0.AddSeconds(4));
        await Storage.Calls.TryAcceptAsync(b.CallId, "device-1", T0.AddSeconds(5), CancellationToken.None);
        await Storage.Calls.TryEndAsync(endedOne.CallId, CallState.Ringing, CallEndReason.Rejected, T0.AddSeconds(6), CancellationToken.None);

        var open = await ToCallListAsync(Storage.Calls.ListOpenByCodeAsync(code, 100, CancellationToken.None));
        var limited = await ToCallListAsync(Storage.Calls.ListOpenByCodeAsync(code, 1, CancellationToken.None));

        Assert.Equal(new[] { a.CallId, b.CallId }.Order(), open.Select(c => c.CallId).Order());
        Assert.Single(limited);
    }

    [Fact]
    public async Task CallDeleteEndedBefore_Bounded_DeletesOnlyOldEndedCallsWithTheirMailboxes()
    {
        var owner = NewId("owner");
        var old = new List<CallRecord>();
        for (var i = 0; i < 3; i++)
        {
            var call = await CreateCallAsync(owner, createdAt: T0);
            await Storage.Mailbox.AppendAsync(call.CallId, NewMailboxEntry("offer"), LargeBudget, CancellationToken.None);
            await Storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Missed, T0.AddMinutes(1), CancellationToken.None);
            old.Add(call);
        }
        var recent = await CreateCallAsync(owner, createdAt: T0);
        await Storage.Calls.TryEndAsync(recent.CallId, CallState.Ringing, CallEndReason.Missed, T0.AddHours(2), CancellationToken.None);
        var open = await CreateCallAsync(owner, createdAt: T0);

        var firstBatch = await Storage.Calls.DeleteEndedBeforeAsync(T0.AddHours(1), 2, CancellationToken.None);
        var secondBatch = await Storage.Calls.DeleteEndedBeforeAsync(T0.AddHours(1), 2, CancellationToken.None);
        var thirdBatch = await Storage.Calls.DeleteEndedBeforeAsync(T0.AddHours(1), 2, CancellationToken.None);

        Assert.Equal(2, firstBatch);
        Assert.Equal(1, secondBatch);
        Assert.Equal(0, thirdBatch);
        foreach (var call in old)
        {
            Assert.Null(await Storage.Calls.GetAsync(call.CallId, CancellationToken.None));
            Assert.Null(await Storage.Calls.FindByTokenHashAsync(call.CallTokenHash, CancellationToken.None));
            Assert.Empty(await Storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 100, int.MaxValue, CancellationToken.None));
        }
        Assert.NotNull(await Storage.Calls.GetAsync(recent.CallId, CancellationToken.None));
        Assert.NotNull(await Storage.Calls.GetAsync(open.CallId, CancellationToken.None));
    }
}
