using QrCalling.Calls;
using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>QrCalling's storage extension point: one small store per aggregate. Adapters (in-memory, PostgreSQL, Redis)
/// implement the atomic operations natively so that concurrency is right by construction. Every method throws
/// <see cref="StorageUnavailableException"/> when the backend cannot be reached.</summary>
public interface IStorage
{
    /// <summary>Codes.</summary>
    ICodeStore Codes { get; }
    /// <summary>Calls.</summary>
    ICallStore Calls { get; }
    /// <summary>Per-call mailboxes.</summary>
    IMailboxStore Mailbox { get; }
    /// <summary>Web Push subscriptions and the generated VAPID keys.</summary>
    IPushSubscriptionStore PushSubscriptions { get; }

    /// <summary>Checks that the backend answers (used by the readiness health check).</summary>
    ValueTask PingAsync(CancellationToken cancellationToken);

    /// <summary>Leave-a-message: owners' message keys and the encrypted messages callers left.</summary>
    IMessageStore Messages { get; }

    /// <summary>Who may call a code and when: its quiet hours and chat-only mode, its blocked callers, and which
    /// (pseudonymous) caller started which call.</summary>
    ICallerControlStore CallerControls { get; }

    /// <summary>Owner devices paired by QR, and their pending pairings.</summary>
    IDeviceStore Devices { get; }

    /// <summary>Owners' client-encrypted backups.</summary>
    IBackupStore Backups { get; }

    /// <summary>Delegates (other accounts that also answer an owner's code), their invitations and ring marks.</summary>
    IDelegateStore Delegates { get; }
    /// <summary>Meet-now rooms, their participants and their bounded ciphertext history.</summary>
    IRoomStore Rooms { get; }

    /// <summary>Starts a call from a scan: counts the scan of the code keyed <paramref name="codeKeyHash"/> exactly as
    /// <see cref="ICodeStore.TryCountScanAsync"/> does and, only if it counted, stores the ringing <paramref name="call"/>.
    /// Returns the counted code, or null when the code is unavailable. A revoke or delete of the code at the same time
    /// either sees the call (and ends it) or makes this return null, so a withdrawn code never rings its owner.</summary>
    /// <remarks>The default runs the three steps in turn: count, create, then read the code again and end the call as
    /// <see cref="CallEndReason.Revoked"/> when the code went away meanwhile. A backend that can do it in one atomic step
    /// overrides it (PostgreSQL: one statement whose row lock on the code makes a concurrent revoke wait).</remarks>
    async ValueTask<CodeRecord?> TryStartCallAsync(byte[] codeKeyHash, CallRecord call, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var counted = await Codes.TryCountScanAsync(codeKeyHash, now, cancellationToken).ConfigureAwait(false);
        if (counted is null)
        {
            return null;
        }
        await Calls.CreateAsync(call, cancellationToken).ConfigureAwait(false);
        var current = await Codes.FindByIdAsync(counted.OwnerId, counted.Id, cancellationToken).ConfigureAwait(false);
        if (current is null || current.RevokedAt is not null)
        {
            await Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Revoked, now, cancellationToken).ConfigureAwait(false);
            return null;
        }
        return counted;
    }

    /// <summary>Finds the code keyed <paramref name="keyHash"/>, whatever its state, with what a caller's admission needs
    /// of the owner's controls: the code's <see cref="CallPolicy"/> and whether any caller is blocked on it. Null when
    /// there is no such code.</summary>
    /// <remarks>The default reads the code, then its policy, and reports <see cref="CodeWithControls.AnyBlocks"/> true
    /// (so that the caller of this method asks about its pseudonyms with
    /// <see cref="ICallerControlStore.GetAdmissionAsync"/>). A backend that can read all of it at once overrides it
    /// (PostgreSQL: one statement).</remarks>
    async ValueTask<CodeWithControls?> FindCodeWithControlsAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        var code = await Codes.FindByKeyAsync(keyHash, cancellationToken).ConfigureAwait(false);
        if (code is null)
        {
            return null;
        }
        var policy = await CallerControls.GetPolicyAsync(code.Id, cancellationToken).ConfigureAwait(false);
        return new CodeWithControls(code, policy, AnyBlocks: true);
    }

    /// <summary>Accepts a call as <see cref="ICallStore.TryAcceptAsync"/> does and, only if that won, appends
    /// <paramref name="lifecycle"/> (an entry with no recipient) to its mailbox as <see cref="IMailboxStore.AppendAsync"/>
    /// does. Returns the accepted call, or null when the call was not Ringing (nothing appended).</summary>
    /// <remarks>The default runs the two steps in turn and reports <see cref="CallAcceptance.MayHaveEarlyEntries"/> true.
    /// A backend that can do both in one atomic step overrides it (PostgreSQL: one statement), and may report false when
    /// it knows that nothing addressed to the callee was stored before the accept, so that the caller of this method can
    /// skip reading the early entries: an entry appended after that is ordered after the accept, and its sender sees the
    /// call Active.</remarks>
    async ValueTask<CallAcceptance?> TryAcceptCallAsync(string callId, string deviceId, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        var accepted = await Calls.TryAcceptAsync(callId, deviceId, now, cancellationToken).ConfigureAwait(false);
        if (accepted is null)
        {
            return null;
        }
        await Mailbox.AppendAsync(callId, lifecycle with { To = null }, default, cancellationToken).ConfigureAwait(false);
        return new CallAcceptance(accepted, MayHaveEarlyEntries: true);
    }

    /// <summary>Ends a call as <see cref="ICallStore.TryEndAsync"/> does and, only if that won, appends
    /// <paramref name="lifecycle"/> (an entry with no recipient) to its mailbox. Returns the ended call, or null when the
    /// call was not in <paramref name="expectedState"/> (nothing appended).</summary>
    /// <remarks>The default runs the two steps in turn; a backend that can do both atomically overrides it.</remarks>
    async ValueTask<CallRecord?> TryEndCallAsync(string callId, CallState expectedState, CallEndReason reason, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        var ended = await Calls.TryEndAsync(callId, expectedState, reason, now, cancellationToken).ConfigureAwait(false);
        if (ended is not null)
        {
            await Mailbox.AppendAsync(callId, lifecycle with { To = null }, default, cancellationToken).ConfigureAwait(false);
        }
        return ended;
    }
}

/// <summary>A code with its caller controls, as <see cref="IStorage.FindCodeWithControlsAsync"/> read them.</summary>
/// <param name="Code">The code, whatever its state.</param>
/// <param name="Policy">Its policy (<see cref="CallPolicy.None"/> when none is stored).</param>
/// <param name="AnyBlocks">False only when the store knows that no caller is blocked on the code; true when some are or
/// it cannot tell.</param>
public sealed record CodeWithControls(CodeRecord Code, CallPolicy Policy, bool AnyBlocks);

/// <summary>The outcome of <see cref="IStorage.TryAcceptCallAsync"/> that won.</summary>
/// <param name="Call">The call as accepted (Active).</param>
/// <param name="MayHaveEarlyEntries">False only when the store knows that no entry addressed to the callee (the
/// caller's early offer, candidates or chat) was stored before the accept; true when there are some or it cannot
/// tell.</param>
public sealed record CallAcceptance(CallRecord Call, bool MayHaveEarlyEntries);

/// <summary>Storage of codes, keyed by id and by the keyed hash of the token.</summary>
public interface ICodeStore
{
    /// <summary>Stores a new code. Ids and key hashes are unique.</summary>
    ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken);

    /// <summary>Finds a code by the keyed hash of its token, whatever its state; null if none.</summary>
    ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken);

    /// <summary>Finds one of an owner's codes by id; null if none or it belongs to another owner.</summary>
    ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken);

    /// <summary>Lists an owner's codes, newest first.</summary>
    IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken);

    /// <summary>Atomically: if the code with this key hash is available at <paramref name="now"/> (not revoked, not paused,
    /// not expired, scanCount &lt; maxScans), counts one scan (scanCount + 1, lastScannedAt = now) and returns the updated
    /// record; otherwise returns null and changes nothing. Of N concurrent calls on a code with maxScans M, exactly
    /// min(N, M) succeed.</summary>
    ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Atomically revokes an owner's live code; true if this call revoked it, false if it is unknown, belongs to
    /// another owner or was already revoked.</summary>
    ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> codes that expired or were revoked before
    /// <paramref name="cutoff"/>; returns how many were deleted.</summary>
    ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken);

    /// <summary>Atomically sets the label and/or the media of an owner's code (a null argument keeps that field) and
    /// returns the updated record; null if the code is unknown or belongs to another owner. It changes nothing else: a
    /// scan counted at the same time is never lost, and the update is never lost to a scan.</summary>
    ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken);

    /// <summary>Atomically deletes an owner's code for good (the record and its key hash, whatever its state); true if
    /// this call deleted it, false if it is unknown or belongs to another owner. Once it returns, the code's key hash finds
    /// nothing and <see cref="TryCountScanAsync"/> counts nothing on it, like a code that never existed.</summary>
    ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken);

    /// <summary>Atomically pauses (<paramref name="pausedAt"/> set) or resumes (<paramref name="pausedAt"/> null) an owner's
    /// code and returns the updated record; null if the code is unknown or belongs to another owner. Pausing a code that
    /// is already paused keeps its earlier <see cref="CodeRecord.PausedAt"/>; resuming one that is not paused changes
    /// nothing. It changes no other field. Once a pause returned, <see cref="TryCountScanAsync"/> counts nothing on the
    /// code until it is resumed.</summary>
    ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken);
}

/// <summary>Storage of calls.</summary>
public interface ICallStore
{
    /// <summary>Stores a new call (state Ringing).</summary>
    ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken);

    /// <summary>Gets a call by id; null if none.</summary>
    ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Finds a call by the keyed hash of its call token; null if none.</summary>
    ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken);

    /// <summary>Atomically: if the call is Ringing, makes it Active with <paramref name="deviceId"/> as the accepting
    /// device and <c>answeredAt = now</c>, and returns the updated record; otherwise null. Of N concurrent accepts
    /// exactly one wins.</summary>
    ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Atomically: if the call is in <paramref name="expectedState"/> (never Ended), ends it with
    /// <paramref name="reason"/> at <paramref name="now"/> and returns the updated record; otherwise null. A call ends
    /// once.</summary>
    ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records a side's presence: <paramref name="goneSince"/> null when it (re)connected, else since when it
    /// has been gone. Does nothing to an ended call.</summary>
    ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken);

    /// <summary>An owner's calls, newest first, created before <paramref name="before"/> when given, at most
    /// <paramref name="limit"/>.</summary>
    IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> calls that are not Ended (Ringing or Active), for the sweep, most urgent
    /// first: ordered by <see cref="CallRecord.NextDeadline"/>, then call id. (Oldest-first would let more than
    /// <paramref name="maxCount"/> long, healthy calls hide the ones that rang out or dropped.)</summary>
    IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> open calls started from one code (to end them when it is revoked).</summary>
    IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> calls that ended before <paramref name="cutoff"/>, with their
    /// mailboxes; returns how many calls were deleted.</summary>
    ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken);
}

/// <summary>Storage of per-call mailboxes: a window, not a log. Each call has one seq space (1, 2, 3… gap-free, assigned
/// by the store). Entries addressed to one side (<see cref="MailboxEntry.To"/> set) stay until that side acknowledges
/// them (<see cref="AcknowledgeAsync"/>), and the bytes a side has not acknowledged are bounded by a budget that the
/// store enforces atomically with the append. Lifecycle entries (<see cref="MailboxEntry.To"/> null: readable by both
/// sides, appended by the server) are never budgeted nor trimmed by acknowledgements; the retention sweep deletes them
/// with the rest.</summary>
public interface IMailboxStore
{
    /// <summary>Atomically appends an entry (its <see cref="MailboxEntry.Seq"/> is ignored) and returns the seq given to
    /// it, one more than the call's previous entry, starting at 1; concurrent appends get distinct, gap-free seqs.
    /// <para>A lifecycle entry (<see cref="MailboxEntry.To"/> null) is always appended. An entry addressed to a side is
    /// appended only if the call exists and is not Ended (else <see cref="MailboxAppendStatus.CallNotOpen"/>), and only if
    /// that side's unacknowledged bytes plus this entry's <see cref="MailboxEntry.Size"/> stay within the budget:
    /// <see cref="MailboxBudget.RingingBytes"/> while the call is Ringing, <see cref="MailboxBudget.SideBytes"/> once it
    /// is Active (else <see cref="MailboxAppendStatus.Full"/>). A refused append changes nothing.</para></summary>
    ValueTask<MailboxAppendResult> AppendAsync(string callId, MailboxEntry entry, MailboxBudget budget, CancellationToken cancellationToken);

    /// <summary>Reads, in seq order, the entries with seq &gt; <paramref name="afterSeq"/> that <paramref name="side"/> may
    /// read (addressed to it, or lifecycle entries): at most <paramref name="maxCount"/> entries, and no more entries once
    /// their <see cref="MailboxEntry.Size"/>s add up to <paramref name="maxBytes"/> (the first entry is always returned,
    /// whatever its size). Filtering by side happens in the store.</summary>
    ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, CallSide side, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken);

    /// <summary><paramref name="side"/> has received everything addressed to it up to <paramref name="upToSeq"/>: deletes
    /// those entries and frees their bytes from the side's budget, atomically. Idempotent; acknowledging less than before
    /// changes nothing. Returns how many entries it deleted.</summary>
    ValueTask<int> AcknowledgeAsync(string callId, CallSide side, long upToSeq, CancellationToken cancellationToken);

    /// <summary>The highest seq given out for a call (0 when none).</summary>
    ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken);

    /// <summary>The bytes addressed to <paramref name="side"/> that it has not acknowledged yet (the budget in use).</summary>
    ValueTask<long> GetPendingBytesAsync(string callId, CallSide side, CancellationToken cancellationToken);

    /// <summary>Deletes the mailbox entries of calls that ended before <paramref name="cutoff"/>, at most
    /// <paramref name="maxCount"/> entries; returns how many were deleted.</summary>
    ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken);
}

/// <summary>The byte budgets of a call's mailbox window, per recipient side.</summary>
/// <param name="SideBytes">Most unacknowledged bytes addressed to one side of an Active call.</param>
/// <param name="RingingBytes">Most bytes the caller may park for the owner while the call is Ringing (its early offer,
/// candidates and chat), nobody having accepted yet.</param>
public readonly record struct MailboxBudget(int SideBytes, int RingingBytes);

/// <summary>What an append did.</summary>
public enum MailboxAppendStatus
{
    /// <summary>Appended; <see cref="MailboxAppendResult.Seq"/> is its seq.</summary>
    Appended,
    /// <summary>Refused: the recipient has not acknowledged enough of what it was sent (the budget is used up).</summary>
    Full,
    /// <summary>Refused: the call does not exist or has ended.</summary>
    CallNotOpen,
}

/// <summary>The outcome of <see cref="IMailboxStore.AppendAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Seq">The seq given to the entry when <see cref="MailboxAppendStatus.Appended"/>, else 0.</param>
public readonly record struct MailboxAppendResult(MailboxAppendStatus Status, long Seq)
{
    /// <summary>For an appended entry addressed to a side: that side's unacknowledged bytes including this entry (what
    /// <see cref="IMailboxStore.GetPendingBytesAsync"/> would answer right after it); 0 when the store does not report it
    /// or the entry is a lifecycle entry. The call service uses it to pace senders whose recipient lags.</summary>
    public long PendingBytes { get; init; }

    /// <summary>An append that succeeded with <paramref name="seq"/>.</summary>
    public static MailboxAppendResult Appended(long seq) => new(MailboxAppendStatus.Appended, seq);

    /// <summary>An append to a side that succeeded with <paramref name="seq"/>, leaving <paramref name="pendingBytes"/>
    /// unacknowledged for that side.</summary>
    public static MailboxAppendResult Appended(long seq, long pendingBytes) => new(MailboxAppendStatus.Appended, seq) { PendingBytes = pendingBytes };
    /// <summary>An append refused because the budget is used up.</summary>
    public static MailboxAppendResult Full { get; } = new(MailboxAppendStatus.Full, 0);
    /// <summary>An append refused because the call is unknown or ended.</summary>
    public static MailboxAppendResult CallNotOpen { get; } = new(MailboxAppendStatus.CallNotOpen, 0);
}
