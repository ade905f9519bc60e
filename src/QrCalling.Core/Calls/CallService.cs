using System.Text.Json;

namespace QrCalling.Calls;

/// <summary>Who is acting on a call: an anonymous caller holding a call token, or one device of an authenticated owner.</summary>
public sealed record CallActor
{
    private CallActor() { }

    /// <summary>True for the caller.</summary>
    public bool IsCaller => CallerCallId is not null;
    /// <summary>For a caller: the one call its token admits to.</summary>
    public string? CallerCallId { get; private init; }
    /// <summary>For an owner device: the host's user id.</summary>
    public string? OwnerId { get; private init; }
    /// <summary>For an owner device: the device id (stable across reconnects of that device).</summary>
    public string? DeviceId { get; private init; }

    /// <summary>An anonymous caller admitted to one call.</summary>
    public static CallActor Caller(string callId) => new() { CallerCallId = callId };

    /// <summary>One device of an owner.</summary>
    public static CallActor OwnerDevice(string ownerId, string deviceId) => new() { OwnerId = ownerId, DeviceId = deviceId };
}

/// <summary>A started call as returned to the caller: the record and the call token (a bearer for this call only,
/// shown here once and stored only as a keyed hash).</summary>
/// <param name="Call">The stored call.</param>
/// <param name="CallToken">The call token.</param>
public sealed record StartedCall(CallRecord Call, string CallToken);

/// <summary>Anonymous call routing and signaling: starts calls from payloads, applies the state machine, stores
/// mailbox events and delivers events through <see cref="Transport.ITransport"/>.</summary>
public sealed class CallService
{
    /// <summary>Every call token starts with this prefix, so hosts can tell a call token from their own bearer tokens
    /// (e.g. a JWT) in <c>Authorization: Bearer</c> or <c>?access_token=</c>. The rest is 32 random bytes, base64url.</summary>
    public const string CallTokenPrefix = "qct_";

    // Constructor and bodies: see the Core implementation. Dependencies: IStorage, ITransport, TokenHasher,
    // IOptions<QrCallingOptions>, TimeProvider, ILogger<CallService>, QrCallingMetrics (internal).

    /// <summary>Starts a call from a payload: counts a scan atomically, creates fresh callerId/calleeId and a call token,
    /// rings the owner's devices (IncomingCall). Errors: malformed, checksum, unavailable, invalid_request (media not
    /// allowed by the code).</summary>
    public ValueTask<QrCallingResult<StartedCall>> StartAsync(string? payload, MediaKind media, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Resolves a call token to the caller actor of its call; null for an unknown, malformed or expired token.</summary>
    public ValueTask<CallActor?> AuthenticateCallerAsync(string? callToken, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Accept by an owner device: exactly one device wins; the others get CallAnsweredElsewhere; the winner
    /// then receives the caller's early signals in order. Errors: not_participant, invalid_state.</summary>
    public ValueTask<QrCallingResult<CallRecord>> AcceptAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Reject by an owner device while ringing. Errors: not_participant, invalid_state.</summary>
    public ValueTask<QrCallingResult<CallRecord>> RejectAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Hang up by either side: canceled while ringing, hangup while active. Errors: not_participant, invalid_state.</summary>
    public ValueTask<QrCallingResult<CallRecord>> HangupAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>A signal (offer, answer, ice-candidate, key-exchange, renegotiate) relayed to the other side with a
    /// per-call seq; returns the seq. Errors: not_participant, invalid_state, invalid_request (unknown type), too_large.</summary>
    public ValueTask<QrCallingResult<long>> SignalAsync(CallActor actor, string callId, string? type, JsonElement data, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>A chat ciphertext relayed and kept in the mailbox; returns the seq. Errors as for signals.</summary>
    public ValueTask<QrCallingResult<long>> ChatAsync(CallActor actor, string callId, string? ciphertext, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Typing, relayed, never stored. Errors: not_participant, invalid_state.</summary>
    public ValueTask<QrCallingResult<bool>> TypingAsync(CallActor actor, string callId, bool isTyping, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>The mailbox events after <paramref name="afterSeq"/> that this actor may read (those addressed to its
    /// side, and lifecycle events), waiting up to <paramref name="wait"/> (0 to 30 s) for one to arrive without holding
    /// a thread. Used by Resume (wait zero) and the long-poll endpoint. Errors: not_participant.</summary>
    public ValueTask<QrCallingResult<IReadOnlyList<MailboxEntry>>> ReadEventsAsync(CallActor actor, string callId, long afterSeq, TimeSpan wait, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>A call's status for a participant (the caller, or any device of the owner). Errors: not_participant.</summary>
    public ValueTask<QrCallingResult<CallRecord>> GetAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>An owner's call history, newest first.</summary>
    public IAsyncEnumerable<CallRecord> HistoryAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>A participant's connection to a call came up (caller connected, or accepting device reconnected):
    /// clears its gone-since mark and tells the other side PeerJoined.</summary>
    public ValueTask ConnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>A participant's connection to a call went away: marks it gone since now and tells the other side
    /// PeerLeft. The sweep ends the call with <c>dropped</c> when a participant stays gone past the reconnect grace.</summary>
    public ValueTask DisconnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>One sweep: ends calls that rang out (missed), ran past their maximum duration (timeout) or were dropped,
    /// and deletes what is past retention (codes, calls, mailboxes) in bounded batches. Returns how many calls it ended.</summary>
    public ValueTask<int> SweepAsync(CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Ends every open call started from a code with <c>revoked</c> (used by <see cref="Codes.CodeService.RevokeAsync"/>
    /// and RotateAsync). Returns how many calls it ended.</summary>
    internal ValueTask<int> EndCallsOfCodeAsync(string codeId, CancellationToken cancellationToken) => throw new NotImplementedException();
}
