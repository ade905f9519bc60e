using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Delegates;
using QrCalling.Transport;
using Xunit;

namespace QrCalling.Core.Tests.Calls;

/// <summary>Delegates in calls, on a fake clock: a call still ringing after the delegate's delay rings the delegate (once,
/// whatever the number of sweeps), never before, and never when the owner answered first; first accept wins across the
/// owner's and the delegate's devices; the ring-stop events reach the delegate.</summary>
public sealed class DelegateCallTests
{
    private const string Member = "member-account";

    private static async Task<(CallHarness H, StartedCall Call, string DelegateId, string Payload)> SetUpAsync(int ringAfterSeconds, bool hooked = false)
    {
        var h = hooked ? CallHarness.CreateHooked() : CallHarness.Create();
        var code = await h.IssueAsync();
        var delegates = h.Provider.GetRequiredService<DelegateService>();
        var ticket = (await delegates.CreateInvitationAsync(h.Owner, code.Code.Id, TimeSpan.FromSeconds(ringAfterSeconds), CancellationToken.None)).Value;
        var accepted = await delegates.AcceptInvitationAsync(Member, ticket.InvitationPayload, CancellationToken.None);
        Assert.True(accepted.IsSuccess);
        Assert.Equal("Blue van", accepted.Value.Label);
        var started = (await h.Calls.StartAsync(code.Payload, MediaKind.Chat, CancellationToken.None)).Value;
        return (h, started, accepted.Value.Delegate.DelegateId, code.Payload);
    }

    private static int RungMember(CallHarness h, string callId) =>
        h.Transport.Sent.Count(s => s.Target == $"owner:{Member}" && s.Event is IncomingCallEvent e && e.CallId == callId);

    [Property(MaxTest = 25)]
    public Property Delegate_IsRungOnceExactlyWhenTheDelayHasPassed_WhileTheCallRings(PositiveInt delay, NonNegativeInt[] steps)
    {
        var ringAfter = delay.Get % 29;
        return Prop.ToProperty(Check().GetAwaiter().GetResult());

        async Task<bool> Check()
        {
            var (h, started, _, _) = await SetUpAsync(ringAfter);
            using var _ = h;
            var elapsed = 0;
            var shouldHaveRung = false;
            foreach (var step in steps.Take(8))
            {
                var advance = step.Get % 12;
                h.Time.Advance(TimeSpan.FromSeconds(advance));
                elapsed += advance;
                await h.Calls.SweepAsync(CancellationToken.None);
                shouldHaveRung |= elapsed >= ringAfter && elapsed < 30; // 30 s: the ring timeout, then the call is missed
                if (RungMember(h, started.Call.CallId) != (shouldHaveRung ? 1 : 0))
                {
                    return false;
                }
            }
            return true;
        }
    }

    [Fact]
    public async Task OwnerAnswersBeforeTheDelay_DelegateIsNeverRung_AndCannotAct()
    {
        var (h, started, _, _) = await SetUpAsync(10);
        using var _ = h;
        h.Time.Advance(TimeSpan.FromSeconds(9));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(0, RungMember(h, started.Call.CallId));
        Assert.True((await h.Calls.AcceptAsync(h.Device("phone"), started.Call.CallId, CancellationToken.None)).IsSuccess);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(0, RungMember(h, started.Call.CallId));
        var refused = await h.Calls.HangupAsync(CallActor.OwnerDevice(Member, "m-phone"), started.Call.CallId, CancellationToken.None);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, refused.Error!.Code);
    }

    [Fact]
    public async Task DelegateAccepts_OwnerDevicesAreToldAnsweredElsewhere_TheDelegateGetsTheCall_AndTheEnd()
    {
        var (h, started, delegateId, _) = await SetUpAsync(10);
        using var _ = h;
        var member = CallActor.OwnerDevice(Member, "m-phone");
        var early = await h.Calls.AcceptAsync(member, started.Call.CallId, CancellationToken.None);
        Assert.Equal(QrCallingErrorCodes.NotParticipant, early.Error!.Code); // not rung yet
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(1, RungMember(h, started.Call.CallId));

        var accepted = await h.Calls.AcceptAsync(member, started.Call.CallId, CancellationToken.None);
        Assert.True(accepted.IsSuccess);
        Assert.Equal(delegateId + "~m-phone", accepted.Value.AcceptedDeviceId);
        Assert.Contains(h.Transport.Sent, s => s.Target == $"device:{Member}/m-phone" && s.Event is CallAcceptedEvent);
        Assert.Contains(h.Transport.Sent, s => s.Target.StartsWith($"owner-except:{h.Owner}/", StringComparison.Ordinal) && s.Event is CallAnsweredElsewhereEvent);
        Assert.Contains(h.Transport.Sent, s => s.Target == $"owner-except:{Member}/m-phone" && s.Event is CallAnsweredElsewhereEvent);
        Assert.Equal(QrCallingErrorCodes.InvalidState,
            (await h.Calls.AcceptAsync(h.Device("phone"), started.Call.CallId, CancellationToken.None)).Error!.Code);
        Assert.Equal(QrCallingErrorCodes.NotParticipant,
            (await h.Calls.ChatAsync(CallActor.OwnerDevice(Member, "m-tablet"), started.Call.CallId, "aGk=", CancellationToken.None)).Error!.Code);
        Assert.True((await h.Calls.ChatAsync(member, started.Call.CallId, "aGk=", CancellationToken.None)).IsSuccess);
        Assert.True((await h.Calls.HangupAsync(member, started.Call.CallId, CancellationToken.None)).IsSuccess);
        Assert.Contains(h.Transport.Sent, s => s.Target == $"device:{Member}/m-phone" && s.Event is CallEndedEvent { Reason: "hangup" });
        Assert.Contains(h.Transport.Sent, s => s.Target == $"caller:{started.Call.CallId}" && s.Event is CallEndedEvent { Reason: "hangup" });
    }

    [Fact]
    public async Task CallerCancelsAfterTheDelegateWasRung_TheDelegateHearsTheEnd_AndARemovedDelegateIsNotRung()
    {
        var (h, started, delegateId, payload) = await SetUpAsync(5);
        using var _ = h;
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.True((await h.Calls.HangupAsync(CallActor.Caller(started.Call.CallId), started.Call.CallId, CancellationToken.None)).IsSuccess);
        Assert.Contains(h.Transport.Sent, s => s.Target == $"owner:{Member}" && s.Event is CallEndedEvent { Reason: "canceled" });

        var delegates = h.Provider.GetRequiredService<DelegateService>();
        Assert.True(await delegates.LeaveAsync(Member, delegateId, CancellationToken.None));
        var next = (await h.Calls.StartAsync(payload, MediaKind.Chat, CancellationToken.None)).Value;
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(0, RungMember(h, next.Call.CallId));
        Assert.Equal(QrCallingErrorCodes.NotParticipant,
            (await h.Calls.AcceptAsync(CallActor.OwnerDevice(Member, "m-phone"), next.Call.CallId, CancellationToken.None)).Error!.Code);
    }

    [Fact]
    public async Task DelegateDeviceComingOnlineAfterItWasRung_IsRungForTheCall_ButNotBeforeTheDelayNorAfterTheAnswer()
    {
        var (h, started, _, payload) = await SetUpAsync(10);
        using var _ = h;
        var member = CallActor.OwnerDevice(Member, "m-tablet");
        int RungTablet(string callId) =>
            h.Transport.Sent.Count(s => s.Target == $"device:{Member}/m-tablet" && s.Event is IncomingCallEvent e && e.CallId == callId);

        // Before the delay: the member's device coming online is rung for nothing (the call is not theirs yet).
        Assert.Equal(0, await h.Calls.DeviceOnlineAsync(member, CancellationToken.None));
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(1, RungMember(h, started.Call.CallId));

        // A device of the member that connects now (or reloads) is rung for the call, with the code's label, and accepts.
        Assert.Equal(1, await h.Calls.DeviceOnlineAsync(member, CancellationToken.None));
        Assert.Equal(1, RungTablet(started.Call.CallId));
        Assert.Contains(h.Transport.Sent, s => s.Target == $"device:{Member}/m-tablet" && s.Event is IncomingCallEvent { Label: "Blue van" });
        Assert.True((await h.Calls.AcceptAsync(member, started.Call.CallId, CancellationToken.None)).IsSuccess);

        // Once answered, a device coming online is rung for nothing; nor for a call of another account's code.
        Assert.Equal(0, await h.Calls.DeviceOnlineAsync(CallActor.OwnerDevice(Member, "m-laptop"), CancellationToken.None));
        var stranger = CallActor.OwnerDevice("someone-else", "s-phone");
        var next = (await h.Calls.StartAsync(payload, MediaKind.Chat, CancellationToken.None)).Value;
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(0, await h.Calls.DeviceOnlineAsync(stranger, CancellationToken.None));
        Assert.Equal(1, await h.Calls.DeviceOnlineAsync(CallActor.OwnerDevice(Member, "m-laptop"), CancellationToken.None));
        Assert.Contains(h.Transport.Sent, s => s.Target == $"device:{Member}/m-laptop" && s.Event is IncomingCallEvent e && e.CallId == next.Call.CallId);
    }

    /// <summary>The ring marks are read for a ring-stop only when the store's accept or end says a delegate was rung for
    /// the call (<see cref="CallRecord.DelegatesRung"/>): a call answered before the delay costs no read, and a call that
    /// rang the delegate still tells it.</summary>
    [Fact]
    public async Task RingStop_ReadsTheRingMarks_OnlyForACallThatRangADelegate()
    {
        var (h, quiet, _, payload) = await SetUpAsync(10, hooked: true);
        using var _ = h;
        var reads = h.Hooked.CountedDelegates;

        Assert.True((await h.Calls.AcceptAsync(h.Device("phone"), quiet.Call.CallId, CancellationToken.None)).IsSuccess);
        Assert.True((await h.Calls.HangupAsync(h.Device("phone"), quiet.Call.CallId, CancellationToken.None)).IsSuccess);
        var declined = (await h.Calls.StartAsync(payload, MediaKind.Chat, CancellationToken.None)).Value;
        Assert.True((await h.Calls.RejectAsync(h.Device("phone"), declined.Call.CallId, CancellationToken.None)).IsSuccess);
        Assert.Contains(h.Transport.Sent, s => s.Target.StartsWith($"owner-except:{h.Owner}/", StringComparison.Ordinal) && s.Event is CallAnsweredElsewhereEvent);
        Assert.Equal(0, reads.RingReads);
        Assert.DoesNotContain(h.Transport.Sent, s => s.Target.Contains(Member, StringComparison.Ordinal));

        var rung = (await h.Calls.StartAsync(payload, MediaKind.Chat, CancellationToken.None)).Value;
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.Calls.SweepAsync(CancellationToken.None);
        Assert.Equal(1, RungMember(h, rung.Call.CallId));
        Assert.True((await h.Calls.AcceptAsync(h.Device("phone"), rung.Call.CallId, CancellationToken.None)).IsSuccess);
        Assert.Equal(1, reads.RingReads);
        Assert.Contains(h.Transport.Sent, s => s.Target == $"owner:{Member}" && s.Event is CallAnsweredElsewhereEvent e && e.CallId == rung.Call.CallId);
    }
}
