using System.Security.Cryptography;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

// IDelegateStore: invitations are single use, expire and respect the cap and the owner; delegates are listed both ways,
// removed by either side, go with their code and with an erased account; ring marks are set once across writers.
public abstract partial class StorageContractTests
{
    private async Task<(CodeRecord Code, byte[] Hash)> NewInvitationAsync(string? owner = null, DateTimeOffset? expiresAt = null, CodeRecord? code = null)
    {
        code ??= NewCodeRecord(owner ?? NewId("owner"));
        if (await Storage.Codes.FindByIdAsync(code.OwnerId, code.Id, default) is null)
        {
            await Storage.Codes.CreateAsync(code, default);
        }
        var hash = RandomNumberGenerator.GetBytes(32);
        await Storage.Delegates.CreateInvitationAsync(new DelegateInvitation
        {
            SecretHash = hash,
            OwnerId = code.OwnerId,
            CodeId = code.Id,
            RingAfter = TimeSpan.FromSeconds(15),
            ExpiresAt = expiresAt ?? T0.AddMinutes(10),
        }, default);
        return (code, hash);
    }

    [Fact]
    public async Task Delegates_Invitation_IsAcceptedOnce_AndNotAfterItExpired_NorByItsOwner()
    {
        var (code, hash) = await NewInvitationAsync();
        var member = NewId("acct");

        Assert.Equal(DelegateAcceptStatus.OwnInvitation, (await Storage.Delegates.AcceptInvitationAsync(hash, code.OwnerId, NewId("dlg"), T0, 5, default)).Status);
        var id = NewId("dlg");
        var accepted = await Storage.Delegates.AcceptInvitationAsync(hash, member, id, T0.AddMinutes(1), 5, default);
        Assert.Equal(DelegateAcceptStatus.Accepted, accepted.Status);
        Assert.Equal(new DelegateRecord
        {
            DelegateId = id, CodeId = code.Id, OwnerId = code.OwnerId, DelegateOwnerId = member, RingAfter = TimeSpan.FromSeconds(15), CreatedAt = T0.AddMinutes(1),
        }, accepted.Delegate);
        Assert.Equal(accepted.Delegate, await Storage.Delegates.GetAsync(id, default));

        Assert.Equal(DelegateAcceptStatus.InvitationUnavailable, (await Storage.Delegates.AcceptInvitationAsync(hash, NewId("acct"), NewId("dlg"), T0, 5, default)).Status);
        var (_, expired) = await NewInvitationAsync(code: code, expiresAt: T0);
        Assert.Equal(DelegateAcceptStatus.InvitationUnavailable, (await Storage.Delegates.AcceptInvitationAsync(expired, NewId("acct"), NewId("dlg"), T0, 5, default)).Status);
        Assert.Equal(DelegateAcceptStatus.InvitationUnavailable,
            (await Storage.Delegates.AcceptInvitationAsync(RandomNumberGenerator.GetBytes(32), member, NewId("dlg"), T0, 5, default)).Status);

        // The same account again: its existing delegation, nothing new.
        var (_, again) = await NewInvitationAsync(code: code);
        var repeat = await Storage.Delegates.AcceptInvitationAsync(again, member, NewId("dlg"), T0, 5, default);
        Assert.Equal(DelegateAcceptStatus.Accepted, repeat.Status);
        Assert.Equal(id, repeat.Delegate!.DelegateId);
        Assert.Single(await Storage.Delegates.ListByCodeAsync(code.Id, default));
    }

    [Fact]
    public async Task Delegates_Cap_RefusesWithoutSpending_AndConcurrentAccepts_OneWinsPerInvitation_CapHolds()
    {
        var code = NewCodeRecord(NewId("owner"));
        var (_, first) = await NewInvitationAsync(code: code);
        var (_, second) = await NewInvitationAsync(code: code);
        Assert.Equal(DelegateAcceptStatus.Accepted, (await Storage.Delegates.AcceptInvitationAsync(first, NewId("acct"), NewId("dlg"), T0, 1, default)).Status);
        Assert.Equal(DelegateAcceptStatus.QuotaExceeded, (await Storage.Delegates.AcceptInvitationAsync(second, NewId("acct"), NewId("dlg"), T0, 1, default)).Status);
        Assert.Equal(DelegateAcceptStatus.Accepted, (await Storage.Delegates.AcceptInvitationAsync(second, NewId("acct"), NewId("dlg"), T0, 2, default)).Status);

        var (_, contested) = await NewInvitationAsync();
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            Storage.Delegates.AcceptInvitationAsync(contested, NewId("acct"), NewId("dlg"), T0, 5, default).AsTask()));
        Assert.Single(results, r => r.Status == DelegateAcceptStatus.Accepted);

        var capped = NewCodeRecord(NewId("owner"));
        var hashes = new List<byte[]>();
        for (var i = 0; i < 6; i++)
        {
            hashes.Add((await NewInvitationAsync(code: capped)).Hash);
        }
        var many = await Task.WhenAll(hashes.Select(h => Storage.Delegates.AcceptInvitationAsync(h, NewId("acct"), NewId("dlg"), T0, 2, default).AsTask()));
        Assert.Equal(2, many.Count(r => r.Status == DelegateAcceptStatus.Accepted));
        Assert.Equal(4, many.Count(r => r.Status == DelegateAcceptStatus.QuotaExceeded));
        Assert.Equal(2, (await Storage.Delegates.ListByCodeAsync(capped.Id, default)).Count);
    }

    [Fact]
    public async Task Delegates_ListBothWays_DeleteByEitherSide_ByCode_AndEraseBothWays()
    {
        var owner = NewId("owner");
        var member = NewId("acct");
        var a = NewCodeRecord(owner, label: "A");
        var b = NewCodeRecord(owner, label: "B");
        var (_, ha) = await NewInvitationAsync(code: a);
        var (_, hb) = await NewInvitationAsync(code: b);
        var da = (await Storage.Delegates.AcceptInvitationAsync(ha, member, NewId("dlg"), T0, 5, default)).Delegate!;
        var db = (await Storage.Delegates.AcceptInvitationAsync(hb, member, NewId("dlg"), T0.AddSeconds(1), 5, default)).Delegate!;
        var other = (await Storage.Delegates.AcceptInvitationAsync((await NewInvitationAsync(code: a)).Hash, NewId("acct"), NewId("dlg"), T0.AddSeconds(2), 5, default)).Delegate!;

        Assert.Equal([da.DelegateId, db.DelegateId], (await Storage.Delegates.ListByDelegateAsync(member, default)).Select(d => d.DelegateId));
        Assert.Equal([da.DelegateId, other.DelegateId], (await Storage.Delegates.ListByCodeAsync(a.Id, default)).Select(d => d.DelegateId));

        Assert.False(await Storage.Delegates.DeleteAsync(da.DelegateId, NewId("stranger"), default));
        Assert.True(await Storage.Delegates.DeleteAsync(da.DelegateId, member, default)); // the delegate leaves
        Assert.False(await Storage.Delegates.DeleteAsync(da.DelegateId, owner, default));
        Assert.Null(await Storage.Delegates.GetAsync(da.DelegateId, default));
        Assert.True(await Storage.Delegates.DeleteAsync(other.DelegateId, owner, default)); // the owner removes
        Assert.Empty(await Storage.Delegates.ListByCodeAsync(a.Id, default));

        Assert.Equal(1, await Storage.Delegates.DeleteByCodeAsync(b.Id, default));
        Assert.Empty(await Storage.Delegates.ListByDelegateAsync(member, default));

        // Erasure both ways: the owner's codes' delegates, the account's own delegations, its pending invitations.
        var c = NewCodeRecord(owner);
        var theirs = NewCodeRecord(NewId("owner"));
        var d1 = (await Storage.Delegates.AcceptInvitationAsync((await NewInvitationAsync(code: c)).Hash, member, NewId("dlg"), T0, 5, default)).Delegate!;
        var d2 = (await Storage.Delegates.AcceptInvitationAsync((await NewInvitationAsync(code: theirs)).Hash, owner, NewId("dlg"), T0, 5, default)).Delegate!;
        var keep = (await Storage.Delegates.AcceptInvitationAsync((await NewInvitationAsync(code: theirs)).Hash, member, NewId("dlg"), T0, 5, default)).Delegate!;
        var (_, pending) = await NewInvitationAsync(code: c);
        Assert.Equal(2, await Storage.Delegates.EraseAccountAsync(owner, default));
        Assert.Null(await Storage.Delegates.GetAsync(d1.DelegateId, default));
        Assert.Null(await Storage.Delegates.GetAsync(d2.DelegateId, default));
        Assert.NotNull(await Storage.Delegates.GetAsync(keep.DelegateId, default));
        Assert.Equal(DelegateAcceptStatus.InvitationUnavailable, (await Storage.Delegates.AcceptInvitationAsync(pending, member, NewId("dlg"), T0, 5, default)).Status);
        Assert.Equal(0, await Storage.Delegates.EraseAccountAsync(owner, default));
    }

    [Fact]
    public async Task Delegates_DeleteExpiredInvitations_DeletesOnlyExpired()
    {
        var (code, live) = await NewInvitationAsync();
        await NewInvitationAsync(code: code, expiresAt: T0);
        Assert.Equal(1, await Storage.Delegates.DeleteExpiredInvitationsAsync(T0.AddMinutes(1), 100, default));
        Assert.Equal(DelegateAcceptStatus.Accepted, (await Storage.Delegates.AcceptInvitationAsync(live, NewId("acct"), NewId("dlg"), T0.AddMinutes(1), 5, default)).Status);
    }

    [Fact]
    public async Task Delegates_RingMark_IsSetOnce_AcrossConcurrentWriters_ListedAndSwept()
    {
        var callId = NewId("call");
        var ring = new DelegateRing(callId, NewId("dlg"), NewId("acct"));
        var marks = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => Storage.Delegates.TryMarkRungAsync(ring, T0.AddMinutes(5), default).AsTask()));
        Assert.Single(marks, m => m);
        var second = new DelegateRing(callId, NewId("dlg"), NewId("acct"));
        Assert.True(await Storage.Delegates.TryMarkRungAsync(second, T0.AddMinutes(5), default));
        Assert.Equal(new[] { ring, second }.OrderBy(r => r.DelegateId, StringComparer.Ordinal), await Storage.Delegates.ListRungAsync(callId, default));
        Assert.Empty(await Storage.Delegates.ListRungAsync(NewId("call"), default));

        Assert.Equal(0, await Storage.Delegates.DeleteExpiredRingsAsync(T0.AddMinutes(4), 100, default));
        Assert.Equal(2, await Storage.Delegates.DeleteExpiredRingsAsync(T0.AddMinutes(5), 100, default));
        Assert.Empty(await Storage.Delegates.ListRungAsync(callId, default));
    }

    [Fact]
    public async Task Delegates_RingMark_SetsTheCallsDelegatesRung_WhichTheAcceptAndTheEndReturn()
    {
        var rung = await StartedCallAsync();
        var quiet = await StartedCallAsync();
        Assert.False((await Storage.Calls.GetAsync(rung.CallId, default))!.DelegatesRung);

        var ring = new DelegateRing(rung.CallId, NewId("dlg"), NewId("acct"));
        Assert.True(await Storage.Delegates.TryMarkRungAsync(ring, T0.AddMinutes(5), default));
        Assert.False(await Storage.Delegates.TryMarkRungAsync(ring, T0.AddMinutes(5), default));
        Assert.True(await Storage.Delegates.TryMarkRungAsync(ring with { DelegateId = NewId("dlg") }, T0.AddMinutes(5), default));

        Assert.True((await Storage.Calls.GetAsync(rung.CallId, default))!.DelegatesRung);
        Assert.True((await Storage.Calls.FindByTokenHashAsync(rung.CallTokenHash, default))!.DelegatesRung);
        var accepted = await Storage.TryAcceptCallAsync(rung.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), default);
        Assert.True(accepted!.Call.DelegatesRung);
        var ended = await Storage.TryEndCallAsync(rung.CallId, CallState.Active, CallEndReason.Hangup, NewLifecycleEntry("call-ended"), T0.AddSeconds(3), default);
        Assert.True(ended!.DelegatesRung);

        // A call no delegate was rung for: the flag stays false through its accept and end; another call's mark and a
        // mark for a call that is not stored (nothing is created for it) change nothing.
        Assert.True(await Storage.Delegates.TryMarkRungAsync(new DelegateRing(NewId("call"), NewId("dlg"), NewId("acct")), T0.AddMinutes(5), default));
        var quietAccepted = await Storage.TryAcceptCallAsync(quiet.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), default);
        Assert.False(quietAccepted!.Call.DelegatesRung);
        var quietEnded = await Storage.TryEndCallAsync(quiet.CallId, CallState.Active, CallEndReason.Hangup, NewLifecycleEntry("call-ended"), T0.AddSeconds(3), default);
        Assert.False(quietEnded!.DelegatesRung);
        Assert.Empty(await Storage.Delegates.ListRungAsync(quiet.CallId, default));
    }

    [Fact]
    public async Task Delegates_DelegatesRung_RoundTripsThroughCreate_AndTheStoreOnlyStepsOfAcceptAndEnd()
    {
        var marked = NewCallRecord(NewId("owner")) with { DelegatesRung = true };
        await Storage.Calls.CreateAsync(marked, default);
        var plain = await CreateCallAsync(NewId("owner"));

        Assert.True((await Storage.Calls.GetAsync(marked.CallId, default))!.DelegatesRung);
        Assert.False((await Storage.Calls.GetAsync(plain.CallId, default))!.DelegatesRung);
        Assert.True((await Storage.Calls.TryAcceptAsync(marked.CallId, "device-1", T0.AddSeconds(1), default))!.DelegatesRung);
        Assert.True((await Storage.Calls.TryEndAsync(marked.CallId, CallState.Active, CallEndReason.Hangup, T0.AddSeconds(2), default))!.DelegatesRung);

        Assert.True(await Storage.Delegates.TryMarkRungAsync(new DelegateRing(plain.CallId, NewId("dlg"), NewId("acct")), T0.AddMinutes(5), default));
        Assert.True((await Storage.Calls.TryEndAsync(plain.CallId, CallState.Ringing, CallEndReason.Missed, T0.AddSeconds(30), default))!.DelegatesRung);
    }

    /// <summary>What lets the call service skip reading the ring marks: the sweep marks a delegate, then reads the call
    /// and rings the delegate only if it still rings; an accept or end at the same time either returns the call with
    /// <see cref="CallRecord.DelegatesRung"/> set (and the mark is listed), or the sweep's read after the mark finds the
    /// call no longer ringing. A delegate that was rung always hears of the accept or end.</summary>
    [Fact]
    public async Task Delegates_RingMark_RacingAnAcceptOrEnd_NeverRingsADelegateTheStateChangeDoesNotSee()
    {
        for (var round = 0; round < 40; round++)
        {
            var call = round % 4 < 2 ? await StartedCallAsync() : await OpenCallAsync(active: false);
            var ring = new DelegateRing(call.CallId, NewId("dlg"), NewId("acct"));
            using var start = new ManualResetEventSlim();
            var sweep = Task.Run(async () =>
            {
                start.Wait();
                Assert.True(await Storage.Delegates.TryMarkRungAsync(ring, T0.AddMinutes(5), default));
                return await Storage.Calls.GetAsync(call.CallId, default);
            });
            var accept = round % 2 == 0;
            var change = Task.Run(async () =>
            {
                start.Wait();
                return accept
                    ? (await Storage.TryAcceptCallAsync(call.CallId, "device-1", NewLifecycleEntry(), T0.AddSeconds(2), default))?.Call
                    : await Storage.TryEndCallAsync(call.CallId, CallState.Ringing, CallEndReason.Canceled, NewLifecycleEntry("call-ended"), T0.AddSeconds(2), default);
            });
            start.Set();
            var afterMark = await sweep;
            var changed = await change;

            Assert.NotNull(changed);
            Assert.NotEqual(CallState.Ringing, changed.State);
            var delegateRung = afterMark!.State == CallState.Ringing;
            if (delegateRung)
            {
                Assert.True(changed.DelegatesRung, $"round {round}: the delegate was rung but the {(accept ? "accept" : "end")} says none was");
            }
            if (changed.DelegatesRung)
            {
                Assert.Equal([ring], await Storage.Delegates.ListRungAsync(call.CallId, default));
            }
            Assert.True((await Storage.Calls.GetAsync(call.CallId, default))!.DelegatesRung);
        }
    }
}
