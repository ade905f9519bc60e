using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using QrCalling.Diagnostics;
using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Calls.Internal;

/// <summary>Runs commands on calls: loads the call, applies <see cref="CallStateMachine"/>, performs the store's atomic
/// operation the transition implies (accept, end with the expected state, presence, append), then delivers.</summary>
/// <remarks>
/// <para>The hot path is a relay on an active call: the call comes from <see cref="Recent"/> (no read), the
/// machine validates once, the store appends in one atomic step that also checks the call is open and the
/// recipient's window has room and gives the seq, and the transport delivers the caller's own JSON data unchanged.</para>
/// <para>A lost race (the call changed between load and store) is retried once on the fresh state. Once the store change
/// is made, appends and deliveries run to completion even if the request is canceled; a failed delivery is logged and
/// never fails the operation, because clients catch up through the mailbox.</para>
/// </remarks>
internal sealed class CallCommands(IStorage storage, ITransport transport, MailboxWake wake, SenderPacing pacing, CallLimits limits,
    MailboxBudget budget, TimeSpan settleTime, TimeProvider time, ILogger logger, QrCallingMetrics metrics)
{
    /// <summary>Call records recently seen on this instance, so the commands that can work from them skip the read: see
    /// <see cref="Usable"/>. A call that ends elsewhere is caught by the store (appends to an ended call and accepts or ends
    /// from a state the call has left are refused) and by the short lifetime of an entry.</summary>
    public RecentCallCache Recent { get; } = new(time);

    /// <summary>Routes deliveries for delegates' devices (stand-in device ids, and the ring-stop events of calls that
    /// rang delegates); null for none.</summary>
    public DelegateCalls? Delegates { get; init; }

    internal readonly record struct Outcome(QrCallingError? Error, CallRecord? Record, long Seq, int Delivered);

    /// <summary>Loads the call (relays of an active call from the cache), applies the machine and commits.</summary>
    public async ValueTask<Outcome> ExecuteAsync(string callId, CallCommand command, CancellationToken cancellationToken)
    {
        var relay = command is CallCommand.Signal or CallCommand.Chat or CallCommand.Typing;
        for (var attempt = 0; ; attempt++)
        {
            var cached = attempt == 0 && QrCallingIds.IsWellFormed(callId) && Recent.TryGet(callId) is { } recent && Usable(recent, command) ? recent : null;
            var call = cached ?? (!QrCallingIds.IsWellFormed(callId) ? null : await storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false));
            if (call is null)
            {
                Log.CallCommandRefused(logger, callId ?? "", command.Name, QrCallingErrorCodes.NotParticipant);
                return new Outcome(QrCallingError.NotParticipant, null, 0, 0);
            }
            if (relay && cached is null)
            {
                Recent.Set(call); // only what was read from the store: a cached record ages out after its second
            }
            var now = time.GetUtcNow();
            var transition = CallStateMachine.Apply(CallSnapshot.Of(call), command, now, limits);
            if (transition.Error is { } error)
            {
                Log.CallCommandRefused(logger, call.CallId, command.Name, error.Code);
                return new Outcome(error, null, 0, 0);
            }
            var committed = await CommitAsync(call, transition, command, now, cancellationToken).ConfigureAwait(false);
            if (committed is not null)
            {
                return committed.Value;
            }
            Recent.Remove(callId);
            if (attempt > 0)
            {
                Log.CallCommandRefused(logger, call.CallId, command.Name, QrCallingErrorCodes.InvalidState);
                return new Outcome(QrCallingError.InvalidState("The call changed at the same time; try again."), null, 0, 0);
            }
            Log.CallRaceLost(logger, call.CallId, command.Name);
        }
    }

    /// <summary>Whether <paramref name="command"/> may start from a cached record instead of reading the store.</summary>
    /// <remarks><list type="bullet">
    /// <item>An ended call never changes again: every command answers from it.</item>
    /// <item>A relay needs an active call; the store's append refuses it if the call has ended meanwhile.</item>
    /// <item>Accept, reject and hang-up end or accept only from the state they expect (the store checks it), so a stale
    /// record loses that race and the command runs again on a fresh read. They use a record with no gone mark only: a
    /// stale gone mark could make the machine end the call as dropped.</item>
    /// <item>Presence changes (connected, disconnected) and the sweep's tick always read the store: a gone mark set or
    /// cleared on another instance decides them.</item>
    /// </list></remarks>
    internal static bool Usable(CallRecord cached, CallCommand command) => cached.State == CallState.Ended || command switch
    {
        CallCommand.Signal or CallCommand.Chat or CallCommand.Typing => cached.State == CallState.Active,
        CallCommand.Accept or CallCommand.Reject or CallCommand.Hangup => cached is { CallerGoneSince: null, CalleeGoneSince: null },
        _ => false,
    };

    /// <summary>Performs the store operation a transition implies, then its appends and deliveries. Null when the store
    /// refused because the call changed since it was loaded.</summary>
    public async ValueTask<Outcome?> CommitAsync(CallRecord call, CallTransition transition, CallCommand command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var next = transition.State.Call;
        if (transition.Appends is [{ To: not null } relayed])
        {
            return await RelayAsync(call, relayed, transition.Deliveries, now, cancellationToken).ConfigureAwait(false);
        }

        var record = next;
        if (next.State != call.State)
        {
            if (next.State == CallState.Active)
            {
                // The accept and its lifecycle entry in one store step (one statement on PostgreSQL).
                var acceptance = await storage.TryAcceptCallAsync(call.CallId, next.AcceptedDeviceId!, Lifecycle(transition), now, cancellationToken).ConfigureAwait(false);
                if (acceptance is null)
                {
                    return null;
                }
                record = acceptance.Call;
                Recent.Set(record);
                if (acceptance.MayHaveEarlyEntries)
                {
                    // Deliver the caller's early entries as stored now (including any appended while we accepted).
                    var early = await storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, int.MaxValue, int.MaxValue, CancellationToken.None).ConfigureAwait(false);
                    if (early.Any(e => e.To == CallSide.Callee))
                    {
                        transition = CallStateMachine.Apply(new CallSnapshot(call, [.. early.Where(e => e.To == CallSide.Callee)]), command, now, limits);
                    }
                }
                Log.CallAccepted(logger, call.CallId);
                metrics.ActiveCalls.Add(1);
                metrics.SetupDuration.Record(Math.Max(0, (now - call.CreatedAt).TotalSeconds));
            }
            else
            {
                var ended = await storage.TryEndCallAsync(call.CallId, call.State, next.EndReason!.Value, Lifecycle(transition), now, cancellationToken).ConfigureAwait(false);
                if (ended is null)
                {
                    return null;
                }
                record = ended;
                Recent.Set(ended); // final: later commands on it (a disconnect after a hang-up) need no read
                pacing.Forget(call.CallId);
                var reason = CallWireNames.ToWireName(ended.EndReason!.Value);
                metrics.Ended(reason);
                if (call.State == CallState.Active)
                {
                    metrics.ActiveCalls.Add(-1);
                }
                Log.CallEnded(logger, call.CallId, reason);
            }
        }
        else if (next.CallerGoneSince != call.CallerGoneSince || next.CalleeGoneSince != call.CalleeGoneSince)
        {
            var side = next.CallerGoneSince != call.CallerGoneSince ? CallSide.Caller : CallSide.Callee;
            await storage.Calls.SetPresenceAsync(call.CallId, side, side == CallSide.Caller ? next.CallerGoneSince : next.CalleeGoneSince, cancellationToken).ConfigureAwait(false);
            Recent.Remove(call.CallId); // presence is part of the record the cache holds
        }

        // From here on the change is made: finish it whatever happens to the request. An accept's or end's lifecycle
        // entry was appended with the state change; any other entry appends now.
        if (next.State == call.State)
        {
            foreach (var entry in transition.Appends)
            {
                await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None).ConfigureAwait(false);
            }
        }
        if (transition.Appends.Count > 0)
        {
            wake.Notify(call.CallId);
        }
        // An accept's or end's record comes from the store's atomic step: its DelegatesRung tells whether delegates have
        // to hear of the ring-stop (DelegateCalls.RouteAsync). Other records may be cached or computed: unknown.
        var stored = next.State != call.State ? record : null;
        foreach (var delivery in transition.Deliveries)
        {
            await DeliverAsync(delivery, stored).ConfigureAwait(false);
        }
        return new Outcome(null, record, 0, transition.Deliveries.Count);
    }

    /// <summary>The one lifecycle entry of an accept or an end (see <see cref="CallStateMachine"/>).</summary>
    private static MailboxEntry Lifecycle(CallTransition transition) =>
        transition.Appends is [{ To: null } entry] ? entry : throw new InvalidOperationException("An accept or end makes exactly one lifecycle entry.");

    /// <summary>A signal or chat: one atomic append (open call, room in the recipient's window, seq), then the delivery
    /// with that seq. A full window first trims what a connected recipient has had for longer than the settle time (for
    /// clients that never acknowledge), then refuses with <c>mailbox_full</c>.</summary>
    private async ValueTask<Outcome?> RelayAsync(CallRecord call, MailboxEntry entry, IReadOnlyList<Delivery> deliveries, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var result = await storage.Mailbox.AppendAsync(call.CallId, entry, budget, cancellationToken).ConfigureAwait(false);
        if (result.Status == MailboxAppendStatus.Full && await TrimSettledAsync(call.CallId, entry.To!.Value, now, cancellationToken).ConfigureAwait(false))
        {
            result = await storage.Mailbox.AppendAsync(call.CallId, entry, budget, cancellationToken).ConfigureAwait(false);
        }
        switch (result.Status)
        {
            case MailboxAppendStatus.CallNotOpen:
                Recent.Remove(call.CallId);
                var fresh = await storage.Calls.GetAsync(call.CallId, CancellationToken.None).ConfigureAwait(false);
                if (fresh is not null && fresh.State != CallState.Ended && fresh.State != call.State)
                {
                    return null; // the cached state was stale (e.g. accepted elsewhere): run the command again
                }
                Log.CallCommandRefused(logger, call.CallId, entry.Type, QrCallingErrorCodes.InvalidState);
                return new Outcome(QrCallingError.InvalidState("The call has ended."), null, 0, 0);
            case MailboxAppendStatus.Full:
                metrics.MailboxFull.Add(1);
                Log.CallCommandRefused(logger, call.CallId, entry.Type, QrCallingErrorCodes.MailboxFull);
                return new Outcome(QrCallingError.MailboxFull, null, 0, 0);
        }

        // Stored: deliver whatever happens to the request now.
        var seq = result.Seq;
        metrics.Relayed(entry.Type);
        wake.Notify(call.CallId);
        var delivered = 0;
        foreach (var delivery in deliveries)
        {
            await DeliverAsync(delivery with { Event = WithSeq(delivery.Event, seq) }).ConfigureAwait(false);
            delivered++;
        }
        // The caller signaled while the call was ringing. If a device accepted meanwhile, its accept may have read the
        // early entries before this append: deliver it to the winner now (a client may see a seq twice; it keeps one).
        if (call.State == CallState.Ringing && entry.To == CallSide.Callee)
        {
            var fresh = await storage.Calls.GetAsync(call.CallId, CancellationToken.None).ConfigureAwait(false);
            if (fresh is { State: CallState.Active, AcceptedDeviceId: { } winner })
            {
                await DeliverAsync(new Delivery(Recipient.Device(fresh.OwnerId, winner), CallWire.ToEvent(call.CallId, entry with { Seq = seq }))).ConfigureAwait(false);
                delivered++;
            }
        }
        // Back-pressure: a recipient that lags behind keeps its sender's answer until it acknowledges again.
        if (call.State == CallState.Active && result.PendingBytes > budget.SideBytes / 2
            && await pacing.WaitForAcknowledgementAsync(call.CallId, entry.To!.Value, cancellationToken).ConfigureAwait(false))
        {
            metrics.SendersPaced.Add(1);
        }
        return new Outcome(null, call, seq, delivered);
    }

    /// <summary>For a recipient that is connected (not marked gone) but never acknowledges: counts as received what it
    /// was sent more than the settle time ago, and trims that. True when something was trimmed.</summary>
    private async ValueTask<bool> TrimSettledAsync(string callId, CallSide side, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var call = await storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is not { State: CallState.Active } || (side == CallSide.Caller ? call.CallerGoneSince : call.CalleeGoneSince) is not null)
        {
            return false;
        }
        var pending = await storage.Mailbox.ReadAsync(callId, side, 0, int.MaxValue, int.MaxValue, cancellationToken).ConfigureAwait(false);
        var settled = pending.LastOrDefault(e => e.To == side && e.At <= now - settleTime);
        return settled is not null && await storage.Mailbox.AcknowledgeAsync(callId, side, settled.Seq, cancellationToken).ConfigureAwait(false) > 0;
    }

    private static ServerEvent WithSeq(ServerEvent serverEvent, long seq) => serverEvent switch
    {
        SignalEvent signal => signal with { Seq = seq },
        ChatEvent chat => chat with { Seq = seq },
        _ => serverEvent,
    };

    /// <summary>Delivers one event; a failure is logged, never thrown (the client catches up through the mailbox).</summary>
    public ValueTask DeliverAsync(Delivery delivery) => DeliverAsync(delivery, null);

    /// <summary>Delivers one event caused by a state change whose stored call record is <paramref name="stored"/> (null
    /// when unknown); a failure is logged, never thrown.</summary>
    public async ValueTask DeliverAsync(Delivery delivery, CallRecord? stored)
    {
        if (Delegates is null)
        {
            await DeliverOneAsync(delivery).ConfigureAwait(false);
            return;
        }
        IReadOnlyList<Delivery> routed;
        try
        {
            routed = await Delegates.RouteAsync(delivery, stored).ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.CallDeliveryFailed(logger, delivery.Event.Name, delivery.Event.CallId, exception);
            routed = [delivery];
        }
        foreach (var one in routed)
        {
            await DeliverOneAsync(one).ConfigureAwait(false);
        }
    }

    private async ValueTask DeliverOneAsync(Delivery delivery)
    {
        var serverEvent = delivery.Event;
        try
        {
            var to = delivery.To;
            var task = to.Kind switch
            {
                RecipientKind.Caller => transport.SendToCallerAsync(to.Id, serverEvent, CancellationToken.None),
                RecipientKind.Device => transport.SendToDeviceAsync(to.Id, to.DeviceId!, serverEvent, CancellationToken.None),
                RecipientKind.Owner => transport.SendToOwnerAsync(to.Id, serverEvent, CancellationToken.None),
                RecipientKind.OwnerExcept => transport.SendToOwnerExceptAsync(to.Id, to.DeviceId!, serverEvent, CancellationToken.None),
                _ => ValueTask.CompletedTask,
            };
            await task.ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.CallDeliveryFailed(logger, serverEvent.Name, serverEvent.CallId, exception);
        }
    }
}

/// <summary>Call records seen recently on this instance: an open call's for one second, an ended call's (final) for
/// thirty; at most 100,000 at once.</summary>
internal sealed class RecentCallCache(TimeProvider time)
{
    private const int MaxEntries = 100_000;
    private static readonly TimeSpan OpenLifetime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan EndedLifetime = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, (CallRecord Call, long Until)> _calls = new(StringComparer.Ordinal);

    public CallRecord? TryGet(string callId) =>
        _calls.TryGetValue(callId, out var entry) && time.GetTimestamp() < entry.Until ? entry.Call : null;

    /// <summary>About how many entries the map holds: ConcurrentDictionary.Count takes every lock of the map, too dear
    /// for a method that runs on every command.</summary>
    private int _count;

    public void Set(CallRecord call)
    {
        if (Volatile.Read(ref _count) >= MaxEntries)
        {
            Interlocked.Exchange(ref _count, 0);
            _calls.Clear();
        }
        var lifetime = call.State == CallState.Ended ? EndedLifetime : OpenLifetime;
        var entry = (call, time.GetTimestamp() + (long)(lifetime.TotalSeconds * time.TimestampFrequency));
        if (_calls.TryAdd(call.CallId, entry))
        {
            Interlocked.Increment(ref _count);
        }
        else
        {
            _calls[call.CallId] = entry;
        }
    }

    public void Remove(string callId)
    {
        if (_calls.TryRemove(callId, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
