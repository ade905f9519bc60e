using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls.Internal;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Calls;

/// <summary>Anonymous call routing and signaling: starts calls from payloads, runs commands through
/// <see cref="CallStateMachine"/>, keeps each call's mailbox window and delivers events through
/// <see cref="Transport.ITransport"/>. A thin facade: the parts behind it are the call tokens, the command runner (load,
/// apply, commit, deliver), the mailbox reader (reads, acknowledgements, catch-up) and the sweeper.</summary>
/// <remarks>Once the store change of a command is made, appends and deliveries run to completion even if the caller's
/// token is canceled; a failed delivery is logged and never fails the operation, because clients catch up through the
/// mailbox.</remarks>
public sealed class CallService
{
    /// <summary>Every call token starts with this prefix, so hosts can tell a call token from their own bearer tokens
    /// (e.g. a JWT) in <c>Authorization: Bearer</c> or <c>?access_token=</c>. The rest is 32 random bytes, base64url.</summary>
    public const string CallTokenPrefix = "qct_";

    /// <summary>How many of an owner's newest calls <see cref="DeviceOnlineAsync"/> looks at.</summary>
    private const int RingingLookup = 50;

    private readonly IStorage _storage;
    private readonly CodeResolver _resolver;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CallService> _logger;
    private readonly QrCallingMetrics _metrics;
    private readonly CallTokens _tokens;
    private readonly CallCommands _commands;
    private readonly MailboxReader _reader;
    private readonly MailboxWake _wake;
    private readonly SenderPacing _pacing;
    private readonly CallSweeper _sweeper;
    private readonly IQrCallingRuntimeSettings _runtime;
    private readonly DelegateCalls _delegates;

    internal CallService(IStorage storage, ITransport transport, CodeResolver resolver, TokenHasher hasher,
        IOptions<QrCallingOptions> options, TimeProvider timeProvider, ILogger<CallService> logger, QrCallingMetrics metrics,
        IQrCallingRuntimeSettings? runtimeSettings = null)
    {
        _runtime = runtimeSettings ?? new DefaultRuntimeSettings();
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(hasher);
        _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        var limits = CallLimits.From(_options);
        var budget = new MailboxBudget(_options.MailboxBytesPerSide, _options.RingingMailboxBytes);
        var wake = _wake = new MailboxWake();
        var pacing = _pacing = new SenderPacing(timeProvider);
        _tokens = new CallTokens(storage, hasher, timeProvider);
        _delegates = new DelegateCalls(storage, timeProvider, logger, metrics);
        _commands = new CallCommands(storage, transport, wake, pacing, limits, budget, _options.DeliveredEntrySettleTime, timeProvider, logger, metrics)
        {
            Delegates = _delegates,
        };
        _reader = new MailboxReader(storage, wake, pacing, budget, timeProvider);
        _sweeper = new CallSweeper(storage, _commands, _options, limits, timeProvider, logger);
    }

    /// <summary>What the code lifecycle uses to end the calls of a revoked code.</summary>
    internal ICodeCallEnder CodeCallEnder => _sweeper;

    /// <summary>How often a waiting <see cref="ReadEventsAsync"/> looks at storage, to see appends made by another host
    /// instance (appends made through this instance wake it at once).</summary>
    internal TimeSpan PollInterval { get => _reader.PollInterval; init => _reader = new MailboxReader(_storage, _wake, _pacing, _reader.Budget, _time) { PollInterval = value }; }

    /// <summary>Starts a call from a payload: counts a scan atomically, creates fresh callerId/calleeId and a call token,
    /// rings the owner's devices (IncomingCall). Errors: malformed, checksum, unavailable, invalid_request (media not
    /// allowed by the code).</summary>
    public ValueTask<QrCallingResult<StartedCall>> StartAsync(string? payload, MediaKind media, CancellationToken cancellationToken) =>
        StartAsync(payload, media, callerKey: null, cancellationToken);

    /// <summary>As <see cref="StartAsync(string?, MediaKind, CancellationToken)"/>, for a caller whose browser keeps
    /// <paramref name="callerKey"/> (base64url of 32 random bytes; null for none): a caller the owner blocked on the code
    /// gets unavailable, exactly as for a dead code; the code's quiet hours or chat-only mode refuse voice and video with
    /// quiet_hours or chat_only (no scan spent); and the call records the caller's per-code pseudonym so the owner can
    /// block it (<see cref="CallerControlService.BlockCallerAsync"/>).</summary>
    public async ValueTask<QrCallingResult<StartedCall>> StartAsync(string? payload, MediaKind media, string? callerKey, CancellationToken cancellationToken)
    {
        using var activity = QrCallingTracing.Source.StartActivity(QrCallingDiagnostics.CallStartActivity);
        if (activity is not null && media is MediaKind.Audio or MediaKind.Video or MediaKind.Chat)
        {
            activity.SetTag(QrCallingDiagnostics.MediaTag, MediaKinds.ToWireName(media));
        }
        var result = await StartCoreAsync(payload, media, callerKey, cancellationToken).ConfigureAwait(false);
        QrCallingTracing.Complete(activity, result.Error);
        return result;
    }

    private async ValueTask<QrCallingResult<StartedCall>> StartCoreAsync(string? payload, MediaKind media, string? callerKey, CancellationToken cancellationToken)
    {
        if (media is not (MediaKind.Audio or MediaKind.Video or MediaKind.Chat))
        {
            Log.CallStartRefused(_logger, QrCallingErrorCodes.InvalidRequest);
            return QrCallingError.InvalidRequest("media must be one of audio, video or chat.");
        }
        var runtime = await _runtime.GetAsync(cancellationToken).ConfigureAwait(false);
        if (runtime.MaintenanceMode)
        {
            Log.CallStartRefused(_logger, QrCallingErrorCodes.Maintenance);
            return QrCallingError.Maintenance;
        }
        if (!CallerControlService.TryParseOptional(callerKey, out var key))
        {
            Log.CallStartRefused(_logger, QrCallingErrorCodes.InvalidRequest);
            return CallerControlService.BadCallerKey;
        }
        // The scan is counted and the call stored in one step (IStorage.TryStartCallAsync), once the code was found and
        // the caller admitted: a code withdrawn meanwhile gives unavailable and never rings its owner.
        CallRecord? call = null;
        string? callToken = null;
        var resolved = await _resolver.ResolveAsync(payload, countScan: true, media, key, cancellationToken, (code, codeKey) =>
        {
            (callToken, var tokenHash) = _tokens.Issue();
            var now = _time.GetUtcNow();
            call = new CallRecord
            {
                CallId = CallIds.NewCallId(),
                CodeId = code.Id,
                OwnerId = code.OwnerId,
                CallerId = CallIds.NewParticipantId(),
                CalleeId = CallIds.NewParticipantId(),
                CallTokenHash = tokenHash,
                Label = code.Label,
                Media = media,
                CodeMedia = code.Media,
                State = CallState.Ringing,
                CreatedAt = now,
                RingExpiresAt = now + _options.RingTimeout,
                ExpiresAt = now + (runtime.MaxCallDuration is { } shorter && shorter > TimeSpan.Zero && shorter < _options.MaxCallDuration
                    ? shorter : _options.MaxCallDuration),
            };
            return _storage.TryStartCallAsync(codeKey, call, now, cancellationToken);
        }).ConfigureAwait(false);
        if (resolved.Error is { } error)
        {
            Log.CallStartRefused(_logger, error.Code);
            return error;
        }
        if (call is null || callToken is null)
        {
            throw new InvalidOperationException("The code was counted without starting a call.");
        }

        if (key is not null)
        {
            await _resolver.Controls.RecordCallerAsync(call, key, cancellationToken).ConfigureAwait(false);
        }
        _commands.Recent.Set(call); // the owner's accept (or the caller's cancel) starts from it
        _tokens.Remember(call); // the caller's hub connection right after this needs no token look-up
        var mediaName = MediaKinds.ToWireName(media);
        _metrics.CallsStarted.Add(1, new KeyValuePair<string, object?>("media", mediaName));
        Log.CallStarted(_logger, call.CallId, mediaName);
        await _commands.DeliverAsync(new Delivery(Recipient.Owner(call.OwnerId), IncomingCall(call))).ConfigureAwait(false);
        return new StartedCall(call, callToken);
    }

    /// <summary>An owner device came online (connected, reconnected or reloaded its page): it gets IncomingCall for
    /// each of the owner's calls that is still ringing, and for each call still ringing that already rang this account as
    /// a delegate, so it can answer a call that started while it was offline. Returns how many calls it was rung for.</summary>
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
        // And the calls that rang this account as a delegate of another owner's code (the delay had come while this
        // device was away).
        ringing.AddRange(await _delegates.RingingForDelegateAsync(device.OwnerId!, RingingLookup, cancellationToken).ConfigureAwait(false));
        foreach (var call in ringing)
        {
            await _commands.DeliverAsync(new Delivery(Recipient.Device(device.OwnerId!, device.DeviceId!), IncomingCall(call))).ConfigureAwait(false);
        }
        return ringing.Count;
    }

    internal static IncomingCallEvent IncomingCall(CallRecord call) => new()
    {
        CallId = call.CallId,
        CalleeId = call.CalleeId,
        CallerId = call.CallerId,
        Label = call.Label,
        Media = MediaKinds.ToWireName(call.Media),
        ExpiresAt = call.RingExpiresAt,
        CodeMedia = MediaKinds.ToWireNames(call.CodeMedia),
    };

    /// <summary>Resolves a call token to the caller actor of its call; null for an unknown, malformed or expired token.</summary>
    /// <remarks>A token this instance issued in the last minute is resolved without reading the store. If its call was
    /// deleted meanwhile (an owner's erasure), the actor is returned, and every command and read with it answers
    /// <c>not_participant</c>; <see cref="CallerJoinedAsync"/> answers null.</remarks>
    public async ValueTask<CallActor?> AuthenticateCallerAsync(string? callToken, CancellationToken cancellationToken) =>
        await _tokens.FindCallIdAsync(callToken, cancellationToken).ConfigureAwait(false) is { } callId ? CallActor.Caller(callId) : null;

    /// <summary>True when <paramref name="callToken"/> has the shape of a call token (prefix, length, base64url), so a
    /// host can refuse anything else without a look-up. Says nothing about whether the token is known.</summary>
    public static bool IsWellFormedCallToken(string? callToken) => CallTokens.IsWellFormed(callToken);

    /// <summary>Accept by an owner device: exactly one device wins; the others get CallAnsweredElsewhere; the winner
    /// then receives the caller's early signals in order. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> AcceptAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        using var activity = QrCallingTracing.Source.StartActivity(QrCallingDiagnostics.CallAcceptActivity);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Accept(a), cancellationToken).ConfigureAwait(false);
        QrCallingTracing.Complete(activity, outcome.Error);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>Reject by an owner device while ringing. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> RejectAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Reject(a), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>Hang up by either side: canceled while ringing, hangup while active. Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<CallRecord>> HangupAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        using var activity = QrCallingTracing.Source.StartActivity(QrCallingDiagnostics.CallHangupActivity);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Hangup(a), cancellationToken).ConfigureAwait(false);
        QrCallingTracing.Complete(activity, outcome.Error);
        return outcome.Error is { } error ? error : outcome.Record!;
    }

    /// <summary>A signal (offer, answer, ice-candidate, key-exchange, renegotiate, file) relayed to the other side with a
    /// per-call seq; returns the seq. <paramref name="data"/> is stored and relayed as the sender wrote it. Errors:
    /// not_participant, invalid_state, invalid_request (unknown type), too_large (over the type's cap), mailbox_full (the
    /// recipient has not acknowledged enough of what it was sent).</summary>
    public async ValueTask<QrCallingResult<long>> SignalAsync(CallActor actor, string callId, string? type, JsonElement data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Signal(a, type, data), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Seq;
    }

    /// <summary>A chat ciphertext relayed and kept in the mailbox; returns the seq. Errors as for signals.</summary>
    public async ValueTask<QrCallingResult<long>> ChatAsync(CallActor actor, string callId, string? ciphertext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Chat(a, ciphertext), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Seq;
    }

    /// <summary>Typing, relayed, never stored; the value tells whether it was relayed (a caller's typing while the call is
    /// still ringing is accepted but reaches nobody). Errors: not_participant, invalid_state.</summary>
    public async ValueTask<QrCallingResult<bool>> TypingAsync(CallActor actor, string callId, bool isTyping, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var outcome = await RunAsync(actor, callId, a => new CallCommand.Typing(a, isTyping), cancellationToken).ConfigureAwait(false);
        return outcome.Error is { } error ? error : outcome.Delivered > 0;
    }

    /// <summary>The mailbox events after <paramref name="afterSeq"/> that this actor may read (those addressed to its
    /// side, and lifecycle events), waiting up to <paramref name="wait"/> (0 to 30 s) for one to arrive without holding
    /// a thread. Everything up to <paramref name="afterSeq"/> counts as received: it is trimmed from the window. Used by
    /// Resume (wait zero) and the long-poll endpoint. Errors: not_participant.</summary>
    /// <remarks>The caller reads entries addressed to the caller; an owner device reads only once it is the accepting
    /// device, entries addressed to the callee. Everything the side has not acknowledged after
    /// <paramref name="afterSeq"/> comes back in one read (its window bounds it: 256 KiB by default), so a client that
    /// resumes once after a reconnect misses nothing. An ended call returns at once.</remarks>
    public async ValueTask<QrCallingResult<IReadOnlyList<MailboxEntry>>> ReadEventsAsync(CallActor actor, string callId, long afterSeq, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var result = await _reader.ReadAsync(actor, callId, afterSeq, wait, cancellationToken).ConfigureAwait(false);
        return result.Error?.Code == QrCallingErrorCodes.NotParticipant && await _delegates.StandInAsync(actor, callId, cancellationToken).ConfigureAwait(false) is { } standIn
            ? await _reader.ReadAsync(standIn, callId, afterSeq, wait, cancellationToken).ConfigureAwait(false)
            : result;
    }

    /// <summary>The actor received everything addressed to it up to <paramref name="upToSeq"/>: trims it from the call's
    /// mailbox window, so the other side may send more. Cheap; clients send it every few messages. Returns how many
    /// entries were trimmed. Errors: not_participant.</summary>
    public async ValueTask<QrCallingResult<int>> AcknowledgeAsync(CallActor actor, string callId, long upToSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var result = await _reader.AcknowledgeAsync(actor, callId, upToSeq, cancellationToken).ConfigureAwait(false);
        return result.Error?.Code == QrCallingErrorCodes.NotParticipant && await _delegates.StandInAsync(actor, callId, cancellationToken).ConfigureAwait(false) is { } standIn
            ? await _reader.AcknowledgeAsync(standIn, callId, upToSeq, cancellationToken).ConfigureAwait(false)
            : result;
    }

    /// <summary>Runs a participant's command; when it is refused as not_participant and the actor is a device of a
    /// delegate rung for this call, runs it again as the delegate's stand-in device of the owner (see
    /// <see cref="DelegateCalls"/>). The owner's and the caller's commands take no extra step.</summary>
    private async ValueTask<CallCommands.Outcome> RunAsync(CallActor actor, string callId, Func<CallActor, CallCommand> command, CancellationToken cancellationToken)
    {
        var outcome = await _commands.ExecuteAsync(callId, command(actor), cancellationToken).ConfigureAwait(false);
        if (outcome.Error?.Code == QrCallingErrorCodes.NotParticipant && await _delegates.StandInAsync(actor, callId, cancellationToken).ConfigureAwait(false) is { } standIn)
        {
            outcome = await _commands.ExecuteAsync(callId, command(standIn), cancellationToken).ConfigureAwait(false);
        }
        return outcome;
    }

    /// <summary>For a caller connection that has just joined its call's delivery group: the events it may have missed
    /// while joining (CallAccepted or CallEnded from the call's state, and the signals and chats waiting for it, with
    /// their seqs). Send them to that connection only; clients de-duplicate by seq and treat a repeated CallAccepted as
    /// one. Empty while the call rings.</summary>
    public ValueTask<IReadOnlyList<ServerEvent>> CatchUpAsync(CallActor caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        return CatchUpOrEmptyAsync(caller, cancellationToken);
    }

    private async ValueTask<IReadOnlyList<ServerEvent>> CatchUpOrEmptyAsync(CallActor caller, CancellationToken cancellationToken) =>
        await _reader.CatchUpAsync(caller, null, cancellationToken).ConfigureAwait(false) ?? [];

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
        return allowed || await _delegates.StandInAsync(actor, callId, cancellationToken).ConfigureAwait(false) is not null ? call : QrCallingError.NotParticipant;
    }

    /// <summary>An owner's call history, newest first.</summary>
    public IAsyncEnumerable<CallRecord> HistoryAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        return _storage.Calls.ListByOwnerAsync(ownerId, Math.Clamp(limit, 1, 1000), before, cancellationToken);
    }

    /// <summary>An owner's calls in one state, newest first, at most <paramref name="limit"/> (1 to 1000). Ringing and active
    /// calls are found among the calls started within the ring timeout plus the maximum call duration (no open call is
    /// older); ended ones among the whole history.</summary>
    public async IAsyncEnumerable<CallRecord> ListByStateAsync(string ownerId, CallState state, int limit,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        limit = Math.Clamp(limit, 1, 1000);
        const int Page = 200;
        DateTimeOffset? horizon = state == CallState.Ended ? null : _time.GetUtcNow() - _options.MaxCallDuration - _options.RingTimeout;
        DateTimeOffset? before = null;
        var found = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (true)
        {
            var read = 0;
            DateTimeOffset? last = null;
            await foreach (var call in _storage.Calls.ListByOwnerAsync(ownerId, Page, before, cancellationToken).ConfigureAwait(false))
            {
                read++;
                last = call.CreatedAt;
                if (horizon is { } h && call.CreatedAt < h)
                {
                    yield break;
                }
                if (call.State == state && seen.Add(call.CallId))
                {
                    yield return call;
                    if (++found == limit)
                    {
                        yield break;
                    }
                }
            }
            if (read < Page || last is null)
            {
                yield break;
            }
            before = last;
        }
    }

    /// <summary>A participant's connection to a call came up (caller connected, or accepting device reconnected):
    /// clears its gone-since mark and tells the other side PeerJoined.</summary>
    public async ValueTask ConnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await RunAsync(actor, callId, a => new CallCommand.Connected(a), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A caller connection has just joined its call's delivery group: when it is the caller's only connection
    /// (<paramref name="firstConnection"/>), does what <see cref="ConnectedAsync"/> does; then returns what
    /// <see cref="CatchUpAsync"/> returns. Both come from one read of the call, made after the join. Null when the call
    /// no longer exists (deleted since its token was resolved): refuse the connection.</summary>
    public async ValueTask<IReadOnlyList<ServerEvent>?> CallerJoinedAsync(CallActor caller, bool firstConnection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var callId = caller.CallerCallId ?? throw new ArgumentException("Only a caller joins this way.", nameof(caller));
        CallRecord? call = null;
        if (firstConnection)
        {
            var connected = await _commands.ExecuteAsync(callId, new CallCommand.Connected(caller), cancellationToken).ConfigureAwait(false);
            if (connected.Error?.Code == QrCallingErrorCodes.NotParticipant)
            {
                return null;
            }
            call = connected.Record;
        }
        return await _reader.CatchUpAsync(caller, call, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A participant's connection to a call went away: marks it gone since now and tells the other side
    /// PeerLeft. The sweep ends the call with <c>dropped</c> when a participant stays gone past the reconnect grace.</summary>
    public async ValueTask DisconnectedAsync(CallActor actor, string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        await RunAsync(actor, callId, a => new CallCommand.Disconnected(a), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One sweep: ends calls that rang out (missed), ran past their maximum duration (timeout) or were dropped,
    /// and deletes what is past retention (codes, calls, mailboxes) in bounded batches. Returns how many calls it ended.</summary>
    public ValueTask<int> SweepAsync(CancellationToken cancellationToken) => _sweeper.SweepAsync(cancellationToken);
}
