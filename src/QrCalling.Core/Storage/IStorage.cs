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

    /// <summary>Checks that the backend answers (used by the readiness health check).</summary>
    ValueTask PingAsync(CancellationToken cancellationToken);
}

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

    /// <summary>Atomically: if the code with this key hash is available at <paramref name="now"/> (not revoked, not
    /// expired, scanCount &lt; maxScans), counts one scan (scanCount + 1, lastScannedAt = now) and returns the updated
    /// record; otherwise returns null and changes nothing. Of N concurrent calls on a code with maxScans M, exactly
    /// min(N, M) succeed.</summary>
    ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Atomically revokes an owner's live code; true if this call revoked it, false if it is unknown, belongs to
    /// another owner or was already revoked.</summary>
    ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> codes that expired or were revoked before
    /// <paramref name="cutoff"/>; returns how many were deleted.</summary>
    ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken);
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

/// <summary>Storage of per-call mailboxes: signals, chat ciphertexts and lifecycle events, each with a gap-free seq.</summary>
public interface IMailboxStore
{
    /// <summary>Atomically appends an entry (its <see cref="MailboxEntry.Seq"/> is ignored) and returns the seq given to
    /// it: one more than the call's previous entry, starting at 1. Concurrent appends get distinct, gap-free seqs.</summary>
    ValueTask<long> AppendAsync(string callId, MailboxEntry entry, CancellationToken cancellationToken);

    /// <summary>Reads up to <paramref name="maxCount"/> entries with seq &gt; <paramref name="afterSeq"/>, in seq order.</summary>
    ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, long afterSeq, int maxCount, CancellationToken cancellationToken);

    /// <summary>The highest seq of a call's mailbox (0 when empty).</summary>
    ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Deletes the mailbox entries of calls that ended before <paramref name="cutoff"/>, at most
    /// <paramref name="maxCount"/> entries; returns how many were deleted.</summary>
    ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken);
}
