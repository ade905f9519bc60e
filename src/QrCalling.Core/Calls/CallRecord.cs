namespace QrCalling.Calls;

/// <summary>The state of a call.</summary>
public enum CallState
{
    /// <summary>Started by a caller, ringing the owner's devices.</summary>
    Ringing,
    /// <summary>Accepted by exactly one owner device.</summary>
    Active,
    /// <summary>Over; terminal.</summary>
    Ended,
}

/// <summary>Why a call ended. Wire names are lower case.</summary>
public enum CallEndReason
{
    /// <summary>An owner device rejected the ringing call (<c>rejected</c>).</summary>
    Rejected,
    /// <summary>Either side hung up while ringing (<c>canceled</c>).</summary>
    Canceled,
    /// <summary>Nobody answered within the ring timeout (<c>missed</c>).</summary>
    Missed,
    /// <summary>Either side hung up an active call (<c>hangup</c>).</summary>
    Hangup,
    /// <summary>The call reached its maximum duration (<c>timeout</c>).</summary>
    Timeout,
    /// <summary>Both sides were gone past the reconnect grace (<c>dropped</c>).</summary>
    Dropped,
    /// <summary>The owner revoked the code (<c>revoked</c>).</summary>
    Revoked,
}

/// <summary>Which side of a call.</summary>
public enum CallSide
{
    /// <summary>The anonymous person who scanned the code.</summary>
    Caller,
    /// <summary>The owner (after accept: the accepting device).</summary>
    Callee,
}

/// <summary>A call as storage keeps it. The owner and code are known only server-side; the caller sees
/// <see cref="CallId"/>, <see cref="CallerId"/> and <see cref="CalleeId"/>, which are fresh random ids for every call.</summary>
public sealed record CallRecord
{
    /// <summary>Random id of the call.</summary>
    public required string CallId { get; init; }
    /// <summary>The code the call was started from (server-side only).</summary>
    public required string CodeId { get; init; }
    /// <summary>The owner of that code (server-side only).</summary>
    public required string OwnerId { get; init; }
    /// <summary>Fresh random id of the caller for this call only.</summary>
    public required string CallerId { get; init; }
    /// <summary>Fresh random id of the callee for this call only.</summary>
    public required string CalleeId { get; init; }
    /// <summary>Keyed hash of the call token (the caller's bearer for this call).</summary>
    public required byte[] CallTokenHash { get; init; }
    /// <summary>The code's label at the time of the call.</summary>
    public string Label { get; init; } = "";
    /// <summary>The media kind the caller chose.</summary>
    public required MediaKind Media { get; init; }
    /// <summary>The media the code allowed when the call started (the owner's setting). A chat or typing in the call
    /// needs <see cref="MediaKind.Chat"/> in it, else <c>media_not_allowed</c>. Records stored before this field existed
    /// read as <see cref="MediaKinds.All"/>.</summary>
    public MediaKind CodeMedia { get; init; } = MediaKinds.All;
    /// <summary>Current state.</summary>
    public CallState State { get; init; } = CallState.Ringing;
    /// <summary>Why the call ended, once <see cref="State"/> is <see cref="CallState.Ended"/>.</summary>
    public CallEndReason? EndReason { get; init; }
    /// <summary>When the caller started the call.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
    /// <summary>When ringing ends with <c>missed</c>.</summary>
    public required DateTimeOffset RingExpiresAt { get; init; }
    /// <summary>When the call token and TURN credentials expire; an active call ends with <c>timeout</c> then.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
    /// <summary>When an owner device accepted.</summary>
    public DateTimeOffset? AnsweredAt { get; init; }
    /// <summary>When the call ended.</summary>
    public DateTimeOffset? EndedAt { get; init; }
    /// <summary>The owner device that accepted (server-side only).</summary>
    public string? AcceptedDeviceId { get; init; }
    /// <summary>Since when the caller has had no connection; null while connected or never connected.</summary>
    public DateTimeOffset? CallerGoneSince { get; init; }
    /// <summary>Since when the accepting device has had no connection; null while connected.</summary>
    public DateTimeOffset? CalleeGoneSince { get; init; }
    /// <summary>Whether a delegate was rung for this call: set by <see cref="Storage.IDelegateStore.TryMarkRungAsync"/> in
    /// the same atomic step as the ring mark, never cleared. While false, no delegate has anything to hear about the call,
    /// so its ring-stop events go to the owner's devices without reading the ring marks.</summary>
    public bool DelegatesRung { get; init; }

    /// <summary>The earliest instant at which the sweep may have to act on this call: the ring expiry while ringing,
    /// otherwise the expiry, or the time a side went away when that is earlier. Stores list open calls in this order
    /// (<see cref="Storage.ICallStore.ListOpenAsync"/>), so calls that are due are never starved by long, healthy ones.</summary>
    public DateTimeOffset NextDeadline
    {
        get
        {
            var deadline = State == CallState.Ringing ? RingExpiresAt : ExpiresAt;
            if (CallerGoneSince is { } caller && caller < deadline)
            {
                deadline = caller;
            }
            if (CalleeGoneSince is { } callee && callee < deadline)
            {
                deadline = callee;
            }
            return deadline;
        }
    }
}

/// <summary>One stored event of a call's mailbox: a signal, a chat ciphertext, or a lifecycle event for long-polling
/// clients. Typing is never stored.</summary>
public sealed record MailboxEntry
{
    /// <summary>Per-call sequence number: 1, 2, 3… with no gaps, assigned atomically by storage.</summary>
    public long Seq { get; init; }
    /// <summary>Event type: a signal type (<c>offer</c>, <c>answer</c>, <c>ice-candidate</c>, <c>key-exchange</c>,
    /// <c>renegotiate</c>, <c>file</c>), <c>chat</c>, or a lifecycle type (<c>call-accepted</c>, <c>call-ended</c>).</summary>
    public required string Type { get; init; }
    /// <summary>The sender's anonymous id for this call (callerId or calleeId), or <c>server</c> for lifecycle events.</summary>
    public required string From { get; init; }
    /// <summary>Which side may read it: the recipient side, or null for both sides.</summary>
    public CallSide? To { get; init; }
    /// <summary>The event's data as raw JSON text (a signal's data unchanged; a chat's ciphertext as a JSON string).</summary>
    public required string DataJson { get; init; }
    /// <summary>When the server stored it.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>Bytes an entry costs beyond its data, in <see cref="Size"/>: so that tiny entries still count.</summary>
    public const int Overhead = 64;

    /// <summary>What the entry costs against a side's budget: the UTF-8 length of <see cref="DataJson"/> plus
    /// <see cref="Overhead"/>. Every store computes it the same way (PostgreSQL <c>octet_length(data) + 64</c>, Lua
    /// <c>#data + 64</c>).</summary>
    public int Size => System.Text.Encoding.UTF8.GetByteCount(DataJson) + Overhead;
}
