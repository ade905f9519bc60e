using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Calls.Internal;

/// <summary>Reads a participant's side of a call's mailbox (Resume, long polls, the catch-up after a connect) and takes
/// its acknowledgements, which trim the window.</summary>
/// <remarks>A read returns everything the side has not acknowledged after its seq, in one piece: v1's Resume is read
/// once after a reconnect, so a limit below the window would lose what lies beyond it for such a client. The window
/// bounds a read: a side's unacknowledged entries never cost more than its budget (<see cref="MailboxBudget"/>), and each
/// costs at least <see cref="MailboxEntry.Overhead"/> bytes; beyond them only the call's two lifecycle entries.</remarks>
internal sealed class MailboxReader(IStorage storage, MailboxWake wake, SenderPacing pacing, MailboxBudget budget, TimeProvider time)
{
    /// <summary>Room beyond the budget in a read for the lifecycle entries (accepted, ended), which it does not count.</summary>
    private const int LifecycleEntries = 2;
    private const int LifecycleBytes = 1024;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>The window's budgets the limits of a read come from.</summary>
    public MailboxBudget Budget => budget;

    /// <summary>Most bytes (entry sizes) one read returns: the larger budget and the lifecycle entries.</summary>
    public int MaxBytesPerRead { get; } = Math.Max(budget.SideBytes, budget.RingingBytes) + LifecycleBytes;

    /// <summary>Most entries one read returns: a budget of the smallest entries, and the lifecycle entries.</summary>
    public int MaxEntriesPerRead { get; } = Math.Max(budget.SideBytes, budget.RingingBytes) / MailboxEntry.Overhead + LifecycleEntries;

    /// <summary>How often a waiting read looks at storage, to see appends made by another host instance (appends made
    /// through this instance wake it at once).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The call and the actor's side in it, or null when the actor is not a participant.</summary>
    private async ValueTask<(CallRecord Call, CallSide Side)?> SideOfAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        var call = !QrCallingIds.IsWellFormed(callId) ? null : await storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        return call is not null && actor.SideIn(call) is { } side ? (call, side) : null;
    }

    /// <summary>Entries after <paramref name="afterSeq"/> for the actor's side, waiting up to <paramref name="wait"/>;
    /// everything up to <paramref name="afterSeq"/> counts as received (acknowledged).</summary>
    public async ValueTask<QrCallingResult<IReadOnlyList<MailboxEntry>>> ReadAsync(CallActor actor, string callId, long afterSeq, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (await SideOfAsync(actor, callId, cancellationToken).ConfigureAwait(false) is not var (call, side))
        {
            return QrCallingError.NotParticipant;
        }
        afterSeq = Math.Max(0, afterSeq);
        if (afterSeq > 0)
        {
            await storage.Mailbox.AcknowledgeAsync(call.CallId, side, afterSeq, cancellationToken).ConfigureAwait(false);
            pacing.Acknowledged(call.CallId, side);
        }
        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxWait ? MaxWait : wait;
        if (call.State == CallState.Ended)
        {
            wait = TimeSpan.Zero; // nothing more will come
        }
        var deadline = time.GetUtcNow() + wait;
        using var subscription = wait > TimeSpan.Zero ? wake.Subscribe(call.CallId) : null;
        while (true)
        {
            var woken = subscription?.Next(); // taken before reading, so an append in between is not missed
            var entries = await storage.Mailbox.ReadAsync(call.CallId, side, afterSeq, MaxEntriesPerRead, MaxBytesPerRead, cancellationToken).ConfigureAwait(false);
            var remaining = deadline - time.GetUtcNow();
            if (entries.Count > 0 || woken is null || remaining <= TimeSpan.Zero)
            {
                return QrCallingResult<IReadOnlyList<MailboxEntry>>.Success(entries);
            }
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining < PollInterval ? remaining : PollInterval, time, delayCancel.Token);
            await Task.WhenAny(woken, delay).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The actor received everything addressed to it up to <paramref name="upToSeq"/>. Returns how many entries
    /// that freed.</summary>
    public async ValueTask<QrCallingResult<int>> AcknowledgeAsync(CallActor actor, string callId, long upToSeq, CancellationToken cancellationToken)
    {
        if (await SideOfAsync(actor, callId, cancellationToken).ConfigureAwait(false) is not var (call, side))
        {
            return QrCallingError.NotParticipant;
        }
        if (upToSeq <= 0)
        {
            return 0;
        }
        var freed = await storage.Mailbox.AcknowledgeAsync(call.CallId, side, upToSeq, cancellationToken).ConfigureAwait(false);
        pacing.Acknowledged(call.CallId, side);
        return freed;
    }

    /// <summary>What a caller connection that just joined its call's group may have missed while it joined: the call's
    /// accept or end (from the call's state) and the entries waiting for it (signals and chats, with their seqs).
    /// <paramref name="loaded"/> is the call as read after the join, if the caller has it; else it is read here. Null
    /// when the call does not exist.</summary>
    public async ValueTask<IReadOnlyList<ServerEvent>?> CatchUpAsync(CallActor caller, CallRecord? loaded, CancellationToken cancellationToken)
    {
        var callId = caller.CallerCallId ?? throw new ArgumentException("Only a caller catches up this way.", nameof(caller));
        var call = loaded ?? await storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is null)
        {
            return null;
        }
        var events = new List<ServerEvent>();
        if (call.State != CallState.Ringing)
        {
            if (call.AnsweredAt is not null)
            {
                events.Add(new CallAcceptedEvent { CallId = callId });
            }
            var entries = await storage.Mailbox.ReadAsync(callId, CallSide.Caller, 0, MaxEntriesPerRead, MaxBytesPerRead, cancellationToken).ConfigureAwait(false);
            events.AddRange(entries.Where(e => e.To == CallSide.Caller).Select(e => CallWire.ToEvent(callId, e)));
            if (call is { State: CallState.Ended, EndReason: { } reason })
            {
                events.Add(new CallEndedEvent { CallId = callId, Reason = CallWireNames.ToWireName(reason) });
            }
        }
        return events;
    }
}
