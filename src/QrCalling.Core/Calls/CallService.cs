using System.Buffers.Text;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;
using QrCalling.Transport;

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
/// <remarks>Every operation loads the call, applies <see cref="CallStateMachine"/>, performs the store's atomic operation
/// the transition implies (accept, end with the expected state, presence, append; a lost race is retried once on the
/// fresh state) and then delivers the events. Once the store change is made, appends and deliveries run to completion
/// even if the caller's token is canceled; a failed delivery is logged and never fails the operation, because clients
/// catch up through the mailbox.</remarks>
public sealed class CallService
{
    /// <summary>Every call token starts with this prefix, so hosts can tell a call token from their own bearer tokens
    /// (e.g. a JWT) in <c>Authorization: Bearer</c> or <c>?access_token=</c>. The rest is 32 random bytes, base64url.</summary>
    public const string CallTokenPrefix = "qct_";

    private const int CallTokenBytes = 32;
    private const int ReadPageSize = 500;
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    private readonly IStorage _storage;
    private readonly ITransport _transport;
    private readonly CodeResolver _resolver;
    private readonly TokenHasher _hasher;
    private readonly QrCallingOptions _options;
    private readonly CallLimits _limits;
    private readonly TimeProvider _time;
    private readonly ILogger<CallService> _logger;
    private readonly QrCallingMetrics _metrics;
    private readonly MailboxSignals _signals = new();

    internal CallService(IStorage storage, ITransport transport, CodeResolver resolver, TokenHasher hasher,
        IOptions<QrCallingOptions> options, TimeProvider timeProvider, ILogger<CallService> logger, QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _transport = transport ?? throw new ArgumentNullException(nameof(transport));
        _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _limits = CallLimits.From(_options);
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>How often a waiting <see cref="ReadEventsAsync"/> looks at storage, to see appends made by another host
    /// instance (appends made through this instance wake it at once).</summary>
    internal TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Starts a call from a payload: counts a scan atomically, creates fresh callerId/calleeId and a call token,
    /// rings the owner's devices (IncomingCall). Errors: malformed, checksum, unavailable, invalid_request (media not
    /// allowed by the code).</summary>
    public async ValueTask<QrCallingResult<StartedCall>> StartAsync(string? payload, MediaKind media, CancellationToken cancellationToken)
    {
        if (media is not (MediaKind.Audio or MediaKind.Video or MediaKind.Chat))
        {
            Log.CallStartRefused(_logger, QrCallingErrorCodes.InvalidRequest);
            return QrCallingError.InvalidRequest("media must be one of audio, video or chat.");
        }
        var resolved = await _resolver.ResolveAsync(payload, countScan: true, media, cancellationToken).ConfigureAwait(false);
        if (resolved.Error is { } error)
        {
            Log.CallStartRefused(_logger, error.Code);
            return error;
        }
        var code = resolved.Value;

        var tokenBytes = RandomNumberGenerator.GetBytes(CallTokenBytes);
        var callToken = CallTokenPrefix + Base64Url.EncodeToString(tokenBytes);
        var now = _time.GetUtcNow();
        var call = new CallRecord
        {
            CallId = CallIds.NewCallId(),
            CodeId = code.Id,
            OwnerId = code.OwnerId,
            CallerId = CallIds.NewParticipantId(),
            CalleeId = CallIds.NewParticipantId(),
            CallTokenHash = _hasher.Hash(tokenBytes),
            Label = code.Label,
            Media = media,
            State = CallState.Ringing,
            CreatedAt = now,
            RingExpiresAt = now + _options.RingTimeout,
            ExpiresAt = now + _options.MaxCallDuration,
        };
        CryptographicOperations.ZeroMemory(tokenBytes);
        await _storage.Calls.CreateAsync(call, cancellationToken).ConfigureAwait(false);
        // A revoke that ran between the counted scan and the create did not see this call: check once more, so a
        // revoked code never rings its owner.
        var current = await _storage.Codes.FindByIdAsync(code.OwnerId, code.Id, cancellationToken).ConfigureAwait(false);
        if (current?.RevokedAt is not null)
        {
            await _storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Revoked, now, cancellationToken).ConfigureAwait(false);
            Log.CallStartRefused(_logger, QrCallingErrorCodes.Unavailable);
            return QrCallingError.Unavailable;
        }

        var mediaName = MediaKinds.ToWireName(media);
        _metrics.CallsStarted.Add(1, new KeyValuePair<string, object?>("media", mediaName));
        Log.CallStarted(_logger, call.CallId, mediaName);
        await DeliverAsync(new Delivery(Recipient.Owner(call.OwnerId), IncomingCall(call))).ConfigureAwait(false);
        return new StartedCall(call, callToken);
    }

    /// <summary>An owner device came online (connected, reconnected or reloaded its page): it gets IncomingCall for
    /// each of the owner's calls that is still ringing, so it can answer a call that started while it was offline.
    /// Returns how many calls it was rung for.</summary>
    public async ValueTask<int> DeviceOnlineAsync(CallActor device, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device.IsCaller)
        {
            throw new ArgumentException("Only an owner device can come online for incoming calls.", nameof(device));
        }
        var now = _time.GetUtcNow();
        var ringing = new List<CallRecord>();
        // Ringing calls are the newest: none is older than the ring timeout.
        await foreach (var call in _storage.Calls.ListByOwnerAsync(device.OwnerId!, RingingLookup, null, cancellationToken).ConfigureAwait(false))
        {
            if (call.State == CallState.Ringing && call.RingExpiresAt > now)
            {
                ringing.Add(call);
            }
        }
        foreach (var call in ringing)
        {
            await DeliverAsync(new Delivery(Recipient.Device(device.OwnerId!, device.DeviceId!), IncomingCall(call))).ConfigureAwait(false);
        }
        return ringing.Count;
    }

    /// <summary>How many of an owner's newest calls <see cref="DeviceOnlineAsync"/> looks at.</summary>
    private const int RingingLookup = 50;

    private static IncomingCallEvent IncomingCall(CallRecord call) => new()
    {
        CallId = call.CallId,
        CalleeId = call.CalleeId,
        CallerId = call.CallerId,
        Label = call.Label,
        Media = MediaKinds.ToWireName(call.Media),
        ExpiresAt = call.RingExpiresAt,
    };

    /// <summary>Resolves a call token to the caller actor of its call; null for an unknown, malformed or expired token.</summary>
    public async ValueTask<CallActor?> AuthenticateCallerAsync(string? callToken, CancellationToken cancellationToken)
    {
        if (callToken is null || !callToken.StartsWith(CallTokenPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        var encoded = callToken.AsSpan(CallTokenPrefix.Length);
        Span<byte> tokenBytes = stackalloc byte[CallTokenBytes];
        if (encoded.Length != Base64Url.GetEncodedLength(CallTokenBytes)
            || !Base64Url.TryDecodeFromChars(encoded, tokenBytes, out var written)
            || written != CallTokenBytes)
        {
            return null;
        }
        // Current pepper first, then the previous ones: a pepper rotation must not cut off calls in progress.
        var hashes = new byte[_hasher.CandidateCount][];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = _hasher.Hash(tokenBytes, i);
        }
        CryptographicOperations.ZeroMemory(tokenBytes);
        foreach (var hash in hashes)
        {
            var call = await _storage.Calls.FindByTokenHashAsync(hash, cancellationToken).ConfigureAwait(false);
            if (call is not null)
            {
                return _time.GetUtcNow() >= call.ExpiresAt ? null : CallActor.Caller(call.CallId);
            }
        }
        return null;
    }

    /// <summary>Accept by an owner device: exactly one device wins; the others get CallAnsweredElsewhere; the winner
    /// then receives the caller's early signals in order. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> AcceptAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Accept(actor), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>Reject by an owner device while ringing. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> RejectAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Reject(actor), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>Hang up by either side: canceled while ringing, hangup while active. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> HangupAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Hangup(actor), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>A signal (offer, answer, ice-candidate, key-exchange, renegotiate) relayed to the other side with a
    /// per-call seq; returns the seq. Errors: not_participant, invalid_state, invalid_request (unknown type), too_large.</summary>
    public async ValueTask<QrCallingResult<long>> SignalAsync(CallActor actor, string callId, string? type, JsonElement data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Signal(actor, type, data), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Seq;
    }

    /// <summary>A chat ciphertext relayed and kept in the mailbox; returns the seq. Errors as for signals.</summary>
    public async ValueTask<QrCallingResult<long>> ChatAsync(CallActor actor, string callId, string? ciphertext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Chat(actor, ciphertext), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Seq;
    }

    /// <summary>Typing, relayed, never stored; the value tells whether it was relayed (a caller's typing while the call is
    /// still ringing is accepted but reaches nobody). Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<bool>> TypingAsync(CallActor actor, string callId, bool isTyping, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await ExecuteAsync(callId, new CallCommand.Typing(actor, isTyping), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Delivered > 0;
    }

    /// <summary>The mailbox events after <paramref name="afterSeq"/> that this actor may read (those addressed to its
    /// side, and lifecycle events), waiting up to <paramref name="wait"/> (0 to 30 s) for one to arrive without holding
    /// a thread. Used by Resume (wait zero) and the long-poll endpoint. Errors: not_participant.</summary>
    /// <remarks>The caller reads entries addressed to the caller; an owner device reads only once it is the accepting
    /// device, entries addressed to the callee. At most 500 entries are returned at once; read again after the last seq.
    /// An ended call returns at once.</remarks>
    public async ValueTask<QrCallingResult<IReadOnlyList<MailboxEntry>>> ReadEventsAsync(CallActor actor, string callId, long afterSeq, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var call = !QrCallingIds.IsWellFormed(callId) ? null : await _storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        CallSide side;
        if (call is not null && actor.IsCaller && actor.CallerCallId == call.CallId)
        {
            side = CallSide.Caller;
        }
        else if (call is not null && !actor.IsCaller && actor.OwnerId == call.OwnerId && actor.DeviceId is not null && actor.DeviceId == call.AcceptedDeviceId)
        {
            side = CallSide.Callee;
        }
        else
        {
            return QrCallingError.NotParticipant;
        }

        wait = wait < TimeSpan.Zero ? TimeSpan.Zero : wait > MaxWait ? MaxWait : wait;
        if (call.State == CallState.Ended)
        {
            wait = TimeSpan.Zero; // nothing more will come
        }
        var deadline = _time.GetUtcNow() + wait;
        using var subscription = wait > TimeSpan.Zero ? _signals.Subscribe(call.CallId) : null;
        while (true)
        {
            var woken = subscription?.Next(); // taken before reading, so an append in between is not missed
            var entries = await ReadVisibleAsync(call.CallId, side, Math.Max(0, afterSeq), cancellationToken).ConfigureAwait(false);
            var remaining = deadline - _time.GetUtcNow();
            if (entries.Count > 0 || woken is null || remaining <= TimeSpan.Zero)
            {
                return QrCallingResult<IReadOnlyList<MailboxEntry>>.Success(entries);
            }
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(remaining < PollInterval ? remaining : PollInterval, _time, delayCancel.Token);
            await Task.WhenAny(woken, delay).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>A call's status for a participant (the caller, or any device of the owner). Errors: not_participant.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> GetAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var call = !QrCallingIds.IsWellFormed(callId) ? null : await _storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is null)
        {
            return QrCallingError.NotParticipant;
        }
        var allowed = actor.IsCaller ? actor.CallerCallId == call.CallId : actor.OwnerId == call.OwnerId;
        return allowed ? call : QrCallingError.NotParticipant;
    }

    /// <summary>An owner's call history, newest first.</summary>
    public IAsyncEnumerable<CallRecord> HistoryAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        return _storage.Calls.ListByOwnerAsync(ownerId, Math.Clamp(limit, 1, 1000), before, cancellationToken);
    }

    /// <summary>A participant's connection to a call came up (caller connected, or accepting device reconnected):
    /// clears its gone-since mark and tells the other side PeerJoined.</summary>
    public async ValueTask ConnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await ExecuteAsync(callId, new CallCommand.Connected(actor), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A participant's connection to a call went away: marks it gone since now and tells the other side
    /// PeerLeft. The sweep ends the call with <c>dropped</c> when a participant stays gone past the reconnect grace.</summary>
    public async ValueTask DisconnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await ExecuteAsync(callId, new CallCommand.Disconnected(actor), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One sweep: ends calls that rang out (missed), ran past their maximum duration (timeout) or were dropped,
    /// and deletes what is past retention (codes, calls, mailboxes) in bounded batches. Returns how many calls it ended.</summary>
    public async ValueTask<int> SweepAsync(CancellationToken cancellationToken)
    {
        var batch = _options.SweepBatchSize;
        var now = _time.GetUtcNow();
        var ended = 0;
        var open = new List<CallRecord>();
        await foreach (var call in _storage.Calls.ListOpenAsync(batch, cancellationToken).ConfigureAwait(false))
        {
            open.Add(call);
        }
        foreach (var call in open)
        {
            var transition = CallStateMachine.Apply(CallSnapshot.Of(call), new CallCommand.Tick(), now, _limits);
            if (transition.State.Call.State == CallState.Ended
                && await CommitAsync(call, transition, new CallCommand.Tick(), now, cancellationToken).ConfigureAwait(false) is not null)
            {
                ended++;
            }
        }

        var codes = await _storage.Codes.DeleteStaleAsync(now - _options.CodeRetention, batch, cancellationToken).ConfigureAwait(false);
        var mailbox = await _storage.Mailbox.DeleteForCallsEndedBeforeAsync(now - _options.MailboxRetention, batch, cancellationToken).ConfigureAwait(false);
        var calls = await _storage.Calls.DeleteEndedBeforeAsync(now - _options.CallRetention, batch, cancellationToken).ConfigureAwait(false);
        Log.CallSweepCompleted(_logger, ended, codes, mailbox, calls);
        return ended;
    }

    /// <summary>Ends every open call started from a code with <c>revoked</c> (used by <see cref="Codes.CodeService.RevokeAsync"/>
    /// and RotateAsync). Returns how many calls it ended.</summary>
    internal async ValueTask<int> EndCallsOfCodeAsync(string codeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(codeId);
        var batch = _options.SweepBatchSize;
        var ended = 0;
        for (var round = 0; round < 100; round++)
        {
            var open = new List<CallRecord>();
            await foreach (var call in _storage.Calls.ListOpenByCodeAsync(codeId, batch, cancellationToken).ConfigureAwait(false))
            {
                open.Add(call);
            }
            var endedThisRound = 0;
            foreach (var call in open)
            {
                var outcome = await ExecuteAsync(call.CallId, new CallCommand.Revoke(), cancellationToken).ConfigureAwait(false);
                if (outcome.Error is null)
                {
                    endedThisRound++;
                }
            }
            ended += endedThisRound;
            if (open.Count < batch || endedThisRound == 0)
            {
                break;
            }
        }
        return ended;
    }

    private readonly record struct Outcome(QrCallingError? Error, CallRecord? Record, long Seq, int Delivered);

    /// <summary>Loads the call, applies the machine and commits; a lost race (the call changed between load and store)
    /// is retried once on the fresh state, where the machine usually gives invalid_state.</summary>
    private async ValueTask<Outcome> ExecuteAsync(string callId, CallCommand command, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var call = !QrCallingIds.IsWellFormed(callId) ? null : await _storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
            if (call is null)
            {
                Log.CallCommandRefused(_logger, callId ?? "", command.Name, QrCallingErrorCodes.NotParticipant);
                return new Outcome(QrCallingError.NotParticipant, null, 0, 0);
            }
            var now = _time.GetUtcNow();
            // The highest seq matters only for relays (mailbox cap, planned seq); an accept re-reads it once it won.
            var lastSeq = command is CallCommand.Signal or CallCommand.Chat
                ? await _storage.Mailbox.GetLastSeqAsync(call.CallId, cancellationToken).ConfigureAwait(false)
                : 0;
            var transition = CallStateMachine.Apply(CallSnapshot.Of(call, lastSeq), command, now, _limits);
            if (transition.Error is { } error)
            {
                Log.CallCommandRefused(_logger, call.CallId, command.Name, error.Code);
                return new Outcome(error, null, 0, 0);
            }
            var committed = await CommitAsync(call, transition, command, now, cancellationToken).ConfigureAwait(false);
            if (committed is not null)
            {
                return committed.Value;
            }
            if (attempt > 0)
            {
                Log.CallCommandRefused(_logger, call.CallId, command.Name, QrCallingErrorCodes.InvalidState);
                return new Outcome(QrCallingError.InvalidState("The call changed at the same time; try again."), null, 0, 0);
            }
            Log.CallRaceLost(_logger, call.CallId, command.Name);
        }
    }

    /// <summary>Performs the store operation a transition implies, then its appends and deliveries. Null when the store
    /// refused (the call changed since it was loaded).</summary>
    private async ValueTask<Outcome?> CommitAsync(CallRecord call, CallTransition transition, CallCommand command, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var next = transition.State.Call;
        var record = next;
        if (next.State != call.State)
        {
            if (next.State == CallState.Active)
            {
                var accepted = await _storage.Calls.TryAcceptAsync(call.CallId, next.AcceptedDeviceId!, now, cancellationToken).ConfigureAwait(false);
                if (accepted is null)
                {
                    return null;
                }
                record = accepted;
                // Re-plan with the caller's early entries as stored now (including any appended while we accepted).
                var early = await ReadSideAsync(call.CallId, CallSide.Callee, CancellationToken.None).ConfigureAwait(false);
                var lastSeq = await _storage.Mailbox.GetLastSeqAsync(call.CallId, CancellationToken.None).ConfigureAwait(false);
                transition = CallStateMachine.Apply(new CallSnapshot(call, lastSeq, early), command, now, _limits);
                Log.CallAccepted(_logger, call.CallId);
            }
            else
            {
                var ended = await _storage.Calls.TryEndAsync(call.CallId, call.State, next.EndReason!.Value, now, cancellationToken).ConfigureAwait(false);
                if (ended is null)
                {
                    return null;
                }
                record = ended;
                var reason = CallWire.ReasonName(ended.EndReason!.Value);
                _metrics.Ended(reason);
                Log.CallEnded(_logger, call.CallId, reason);
            }
        }
        else if (next.CallerGoneSince != call.CallerGoneSince)
        {
            await _storage.Calls.SetPresenceAsync(call.CallId, CallSide.Caller, next.CallerGoneSince, cancellationToken).ConfigureAwait(false);
        }
        else if (next.CalleeGoneSince != call.CalleeGoneSince)
        {
            await _storage.Calls.SetPresenceAsync(call.CallId, CallSide.Callee, next.CalleeGoneSince, cancellationToken).ConfigureAwait(false);
        }

        // From here on the change is made: finish it whatever happens to the request.
        var planned = transition.State.LastSeq - transition.Appends.Count;
        var seqs = new Dictionary<long, long>();
        long lastAppended = 0;
        foreach (var entry in transition.Appends)
        {
            lastAppended = await _storage.Mailbox.AppendAsync(call.CallId, entry, CancellationToken.None).ConfigureAwait(false);
            seqs[entry.Seq] = lastAppended;
            if (entry.Type != CallWire.CallAcceptedType && entry.Type != CallWire.CallEndedType)
            {
                _metrics.Relayed(entry.Type);
            }
        }
        if (transition.Appends.Count > 0)
        {
            _signals.Notify(call.CallId);
        }

        var delivered = 0;
        foreach (var delivery in transition.Deliveries)
        {
            await DeliverAsync(WithStoredSeq(delivery, planned, seqs)).ConfigureAwait(false);
            delivered++;
        }

        // The caller signaled while the call was ringing. If a device accepted meanwhile, its accept may have read the
        // early entries before this append: deliver it to the winner now (a client may see a seq twice; it keeps one).
        if (call.State == CallState.Ringing && next.State == CallState.Ringing && transition.Appends.Count == 1
            && transition.Appends[0].To == CallSide.Callee)
        {
            var fresh = await _storage.Calls.GetAsync(call.CallId, CancellationToken.None).ConfigureAwait(false);
            if (fresh is { State: CallState.Active, AcceptedDeviceId: { } winner })
            {
                var stored = transition.Appends[0] with { Seq = lastAppended };
                await DeliverAsync(new Delivery(Recipient.Device(fresh.OwnerId, winner), CallWire.ToEvent(call.CallId, stored))).ConfigureAwait(false);
                delivered++;
            }
        }
        return new Outcome(null, record, lastAppended, delivered);
    }

    /// <summary>Replaces the seq the machine planned with the one storage gave (they differ only under a race).</summary>
    private static Delivery WithStoredSeq(Delivery delivery, long planned, Dictionary<long, long> seqs) => delivery.Event switch
    {
        SignalEvent signal when signal.Seq > planned && seqs.TryGetValue(signal.Seq, out var seq) => delivery with { Event = signal with { Seq = seq } },
        ChatEvent chat when chat.Seq > planned && seqs.TryGetValue(chat.Seq, out var seq) => delivery with { Event = chat with { Seq = seq } },
        _ => delivery,
    };

    private async ValueTask DeliverAsync(Delivery delivery)
    {
        var serverEvent = delivery.Event;
        try
        {
            var to = delivery.To;
            var task = to.Kind switch
            {
                RecipientKind.Caller => _transport.SendToCallerAsync(to.Id, serverEvent, CancellationToken.None),
                RecipientKind.Device => _transport.SendToDeviceAsync(to.Id, to.DeviceId!, serverEvent, CancellationToken.None),
                RecipientKind.Owner => _transport.SendToOwnerAsync(to.Id, serverEvent, CancellationToken.None),
                RecipientKind.OwnerExcept => _transport.SendToOwnerExceptAsync(to.Id, to.DeviceId!, serverEvent, CancellationToken.None),
                _ => ValueTask.CompletedTask,
            };
            await task.ConfigureAwait(false);
        }
        catch (Exception exception)
        {
            Log.CallDeliveryFailed(_logger, serverEvent.Name, serverEvent.CallId, exception);
        }
    }

    /// <summary>All stored entries addressed to one side (for the accept's early entries).</summary>
    private async ValueTask<IReadOnlyList<MailboxEntry>> ReadSideAsync(string callId, CallSide side, CancellationToken cancellationToken)
    {
        var result = new List<MailboxEntry>();
        long after = 0;
        while (true)
        {
            var page = await _storage.Mailbox.ReadAsync(callId, after, ReadPageSize, cancellationToken).ConfigureAwait(false);
            result.AddRange(page.Where(e => e.To == side));
            if (page.Count < ReadPageSize)
            {
                return result;
            }
            after = page[^1].Seq;
        }
    }

    /// <summary>The first entries after <paramref name="afterSeq"/> that <paramref name="side"/> may read.</summary>
    private async ValueTask<IReadOnlyList<MailboxEntry>> ReadVisibleAsync(string callId, CallSide side, long afterSeq, CancellationToken cancellationToken)
    {
        var after = afterSeq;
        while (true)
        {
            var page = await _storage.Mailbox.ReadAsync(callId, after, ReadPageSize, cancellationToken).ConfigureAwait(false);
            var visible = page.Where(e => e.To is null || e.To == side).ToArray();
            if (visible.Length > 0 || page.Count < ReadPageSize)
            {
                return visible;
            }
            after = page[^1].Seq;
        }
    }
}
