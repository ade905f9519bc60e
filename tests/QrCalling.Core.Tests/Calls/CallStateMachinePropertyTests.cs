using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using QrCalling.Calls;
using QrCalling.Transport;
using Xunit;

namespace QrCalling.Core.Tests.Calls;

/// <summary>Properties of the pure call state machine over generated sequences (up to 40 steps) of commands from every
/// kind of actor (the caller, three devices of the owner, a stranger owner's device, another call's caller) and time
/// advances.</summary>
public sealed class CallStateMachinePropertyTests
{
    private const string CallId = "call_under_test";
    private const string OwnerId = "owner-1";
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly string[] OwnDevices = ["d1", "d2", "d3"];
    private static readonly CallLimits Limits = new(MaxSignalDataBytes: 256, MaxIceCandidateBytes: 200, MaxKeyExchangeBytes: 256, MaxChatCiphertextBytes: 64, ReconnectGrace: TimeSpan.FromSeconds(30));
    private static readonly string[] SignalTypes = ["offer", "answer", "ice-candidate", "key-exchange", "renegotiate", "bogus"];
    private static readonly int[] AdvanceSeconds = [1, 5, 20, 31, 3600];

    private static readonly CallActor[] Actors =
    [
        CallActor.Caller(CallId),
        CallActor.OwnerDevice(OwnerId, "d1"),
        CallActor.OwnerDevice(OwnerId, "d2"),
        CallActor.OwnerDevice(OwnerId, "d3"),
        CallActor.OwnerDevice("stranger-owner", "d1"),
        CallActor.Caller("call_other"),
    ];

    public enum StepKind { Accept, Reject, Hangup, Signal, Chat, Typing, Connected, Disconnected, Tick, Revoke, Advance }

    /// <summary>One generated step: a command by <see cref="Actor"/> (an index into the actors), or a time advance.</summary>
    public sealed record Step(StepKind Kind, int Actor, int Arg)
    {
        public override string ToString() => Kind == StepKind.Advance ? $"+{AdvanceSeconds[Arg % AdvanceSeconds.Length]}s" : $"{Kind}(a{Actor},{Arg})";
    }

    private static Arbitrary<Step[]> Scenarios()
    {
        var actor = Gen.Frequency((8, Gen.Constant(0)), (4, Gen.Constant(1)), (4, Gen.Constant(2)), (3, Gen.Constant(3)),
            (2, Gen.Constant(4)), (2, Gen.Constant(5)));
        var kind = Gen.Frequency(
            (4, Gen.Constant(StepKind.Accept)), (1, Gen.Constant(StepKind.Reject)), (2, Gen.Constant(StepKind.Hangup)),
            (8, Gen.Constant(StepKind.Signal)), (3, Gen.Constant(StepKind.Chat)), (2, Gen.Constant(StepKind.Typing)),
            (2, Gen.Constant(StepKind.Connected)), (2, Gen.Constant(StepKind.Disconnected)), (2, Gen.Constant(StepKind.Tick)),
            (1, Gen.Constant(StepKind.Revoke)), (3, Gen.Constant(StepKind.Advance)));
        var step = from k in kind
                   from a in actor
                   from arg in Gen.Choose(0, 11)
                   select new Step(k, a, arg);
        var scenario = from length in Gen.Choose(0, 40)
                       from steps in Gen.ArrayOf(step, length)
                       select steps;
        return Arb.From(scenario);
    }

    private static CallRecord NewCall() => new()
    {
        CallId = CallId,
        CodeId = "code-1",
        OwnerId = OwnerId,
        CallerId = "p_caller",
        CalleeId = "p_callee",
        CallTokenHash = new byte[32],
        Media = MediaKind.Video,
        CreatedAt = T0,
        RingExpiresAt = T0.AddSeconds(30),
        ExpiresAt = T0.AddHours(1),
    };

    private static CallCommand ToCommand(Step step)
    {
        var actor = Actors[step.Actor];
        return step.Kind switch
        {
            StepKind.Accept => new CallCommand.Accept(actor),
            StepKind.Reject => new CallCommand.Reject(actor),
            StepKind.Hangup => new CallCommand.Hangup(actor),
            StepKind.Signal => new CallCommand.Signal(actor, SignalTypes[step.Arg % SignalTypes.Length],
                JsonSerializer.SerializeToElement(new { sdp = step.Arg >= 10 ? new string('x', 300) : $"v=0 {step.Arg}" })),
            StepKind.Chat => new CallCommand.Chat(actor, step.Arg >= 10 ? new string('A', 100) : step.Arg == 9 ? "" : $"Y2lwaGVy{step.Arg}"),
            StepKind.Typing => new CallCommand.Typing(actor, step.Arg % 2 == 0),
            StepKind.Connected => new CallCommand.Connected(actor),
            StepKind.Disconnected => new CallCommand.Disconnected(actor),
            StepKind.Tick => new CallCommand.Tick(),
            StepKind.Revoke => new CallCommand.Revoke(),
            _ => throw new ArgumentOutOfRangeException(nameof(step)),
        };
    }

    /// <summary>Replays a scenario and checks every invariant after every step; throws on the first violation.</summary>
    private static bool CheckInvariants(Step[] steps)
    {
        var now = T0;
        var state = CallSnapshot.Of(NewCall());
        string? winner = null;
        var acceptWins = 0;
        CallEndReason? endedWith = null;
        long lastSeq = 0;
        var early = new List<long>();
        var earlyStored = new List<MailboxEntry>(); // what a store would hold for the callee while ringing

        foreach (var step in steps)
        {
            if (step.Kind == StepKind.Advance)
            {
                now += TimeSpan.FromSeconds(AdvanceSeconds[step.Arg % AdvanceSeconds.Length]);
                continue;
            }
            var command = ToCommand(step);
            // As the service does: an accept sees the caller's early entries as the store holds them.
            var before = command is CallCommand.Accept ? state with { EarlyEntries = [.. earlyStored] } : state;
            var t = CallStateMachine.Apply(before, command, now, Limits);

            if (t.Error is not null)
            {
                // An error changes nothing and emits nothing.
                Assert.Same(before, t.State);
                Assert.Empty(t.Appends);
                Assert.Empty(t.Deliveries);
                continue;
            }
            if (endedWith is not null)
            {
                // Nothing is emitted after Ended and Ended never changes.
                Assert.Empty(t.Appends);
                Assert.Empty(t.Deliveries);
                Assert.Equal(CallState.Ended, t.State.Call.State);
                Assert.Equal(endedWith, t.State.Call.EndReason);
                continue;
            }

            // The machine plans no seqs (its appends carry 0); the store gives 1, 2, 3… across every append.
            foreach (var append in t.Appends)
            {
                Assert.Equal(0, append.Seq);
                lastSeq++;
                if (before.Call.State == CallState.Ringing && append.To == CallSide.Callee)
                {
                    earlyStored.Add(append with { Seq = lastSeq });
                }
            }

            if (command is CallCommand.Accept accept)
            {
                acceptWins++;
                winner = accept.By.DeviceId;
                Assert.Equal(CallState.Active, t.State.Call.State);
                Assert.Equal(winner, t.State.Call.AcceptedDeviceId);
                // The caller's early signals reach the winner, all of them, in order.
                var relayed = t.Deliveries.Where(d => d.Event is SignalEvent or ChatEvent).ToList();
                Assert.All(relayed, d => Assert.Equal(Recipient.Device(OwnerId, winner!), d.To));
                Assert.Equal(early, relayed.Select(d => d.Event is SignalEvent s ? s.Seq : ((ChatEvent)d.Event).Seq));
            }
            if (before.Call.State == CallState.Ringing && command is CallCommand.Signal or CallCommand.Chat)
            {
                Assert.True(command.Actor!.IsCaller);
                Assert.Empty(t.Deliveries); // stored for the winner, delivered to nobody yet
                early.Add(lastSeq);
            }

            foreach (var delivery in t.Deliveries)
            {
                var to = delivery.To;
                Assert.Equal(CallId, delivery.Event.CallId);
                // Nobody outside the call: only this call's caller or devices of this call's owner.
                if (to.Kind == RecipientKind.Caller)
                {
                    Assert.Equal(CallId, to.Id);
                }
                else
                {
                    Assert.Equal(OwnerId, to.Id);
                }
                if (to.Kind is RecipientKind.Device)
                {
                    Assert.Contains(to.DeviceId, OwnDevices);
                }
                if (delivery.Event is SignalEvent or ChatEvent or TypingEvent or PeerJoinedEvent or PeerLeftEvent)
                {
                    // Only the other participant, and on the owner side only the device that accepted (before now).
                    Assert.True(to.Kind == RecipientKind.Caller || to.Kind == RecipientKind.Device && winner is not null && to.DeviceId == winner,
                        $"{delivery.Event.Name} went to {to}");
                }
                if (delivery.Event is SignalEvent signal)
                {
                    Assert.True(signal.Seq <= lastSeq);
                }
            }

            if (t.State.Call.State == CallState.Ended)
            {
                endedWith = t.State.Call.EndReason;
                Assert.NotNull(endedWith);
                var ended = t.Deliveries.Where(d => d.Event is CallEndedEvent).Select(d => d.To).ToList();
                Assert.Contains(Recipient.Caller(CallId), ended);
                Assert.Contains(before.Call.State == CallState.Ringing ? Recipient.Owner(OwnerId) : Recipient.Device(OwnerId, winner!), ended);
                Assert.Equal(CallWire.CallEndedType, t.Appends.Single().Type);
            }
            state = t.State;
        }
        Assert.True(acceptWins <= 1);
        return true;
    }

    [Property(MaxTest = 2000)]
    public Property Apply_AnyCommandSequence_KeepsEveryInvariant() =>
        Prop.ForAll(Scenarios(), CheckInvariants);

    [Property(MaxTest = 500)]
    public Property Apply_CommandsAfterAccept_AtMostOneAcceptEverSucceeds() =>
        Prop.ForAll(Scenarios(), steps =>
        {
            var state = CallSnapshot.Of(NewCall());
            var wins = 0;
            foreach (var step in steps.Where(s => s.Kind != StepKind.Advance))
            {
                var t = CallStateMachine.Apply(state, ToCommand(step), T0.AddSeconds(1), Limits);
                if (step.Kind == StepKind.Accept && t.IsSuccess)
                {
                    wins++;
                }
                state = t.State;
            }
            return wins <= 1;
        });

    [Fact]
    public void CheckInvariants_TypicalCall_ExercisesAcceptEarlySignalsAndHangup()
    {
        // A fixed scenario so the harness itself is known to reach the interesting branches.
        Step[] steps =
        [
            new(StepKind.Signal, 0, 0), new(StepKind.Chat, 0, 1), new(StepKind.Accept, 2, 0), new(StepKind.Accept, 1, 0),
            new(StepKind.Signal, 2, 1), new(StepKind.Typing, 0, 0), new(StepKind.Hangup, 0, 0), new(StepKind.Signal, 0, 2),
        ];
        Assert.True(CheckInvariants(steps));
    }
}
