using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Codes;

/// <summary>A code's policy as the owner sees it, with what it allows right now.</summary>
/// <param name="Policy">The stored policy.</param>
/// <param name="Now">What it allows now for the code's media.</param>
public sealed record CodeCallPolicy(CallPolicy Policy, CallPolicyDecision Now);

/// <summary>The owner's controls over who may call a code and when: quiet hours and chat-only mode
/// (<see cref="CallPolicy"/>), and blocking a caller by a per-code pseudonym of the caller key its browser keeps
/// (<see cref="CallerPseudonyms"/>). A blocked caller is told the code is <c>unavailable</c>, exactly as for a dead
/// code; nothing links a caller across codes.</summary>
public sealed class CallerControlService
{
    /// <summary>Every block id starts with this prefix; the rest is 16 random bytes in base64url.</summary>
    public const string BlockIdPrefix = "b_";

    private readonly IStorage _storage;
    private readonly CallerPseudonyms _pseudonyms;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CallerControlService> _logger;
    private readonly QrCallingMetrics _metrics;

    internal CallerControlService(IStorage storage, CallerPseudonyms pseudonyms, IOptions<QrCallingOptions> options,
        TimeProvider timeProvider, ILogger<CallerControlService> logger, QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _pseudonyms = pseudonyms ?? throw new ArgumentNullException(nameof(pseudonyms));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>The refusal for a caller key that is sent but is not base64url of 32 bytes.</summary>
    internal static QrCallingError BadCallerKey { get; } =
        QrCallingError.InvalidRequest($"callerKey must be base64url (no padding) of {CallerPseudonyms.KeyBytes} random bytes.");

    /// <summary>Parses an optional caller key: true with null for none, true with the bytes for a valid one, false for a
    /// malformed one.</summary>
    internal static bool TryParseOptional(string? callerKey, out byte[]? key)
    {
        key = null;
        if (callerKey is null)
        {
            return true;
        }
        if (!CallerPseudonyms.TryParseKey(callerKey, out var bytes))
        {
            return false;
        }
        key = bytes;
        return true;
    }

    /// <summary>The policy of an owner's code and what it allows now. Error: not_found.</summary>
    public async ValueTask<QrCallingResult<CodeCallPolicy>> GetPolicyAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        var code = await FindCodeAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        if (code is null)
        {
            return QrCallingError.NotFound;
        }
        var policy = await _storage.CallerControls.GetPolicyAsync(code.Id, cancellationToken).ConfigureAwait(false);
        return new CodeCallPolicy(policy, CallPolicyEvaluator.Evaluate(policy, code.Media, _time.GetUtcNow()));
    }

    /// <summary>Replaces the policy of an owner's code. Errors: invalid_request (unknown time zone, no days, start equal
    /// to end), not_found.</summary>
    public async ValueTask<QrCallingResult<CodeCallPolicy>> SetPolicyAsync(string ownerId, string codeId, CallPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.QuietHours is { } quiet && CallPolicyEvaluator.Validate(quiet) is { } problem)
        {
            Log.CallerControlRejected(_logger, problem);
            return QrCallingError.InvalidRequest(problem);
        }
        var code = await FindCodeAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        if (code is null || !await _storage.CallerControls.SetPolicyAsync(code.Id, policy, cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        Log.CallPolicySet(_logger, code.Id, policy.ChatOnly, policy.QuietHours is not null);
        return new CodeCallPolicy(policy, CallPolicyEvaluator.Evaluate(policy, code.Media, _time.GetUtcNow()));
    }

    /// <summary>Blocks the caller of one of the owner's calls on that call's code: that caller's browser then gets
    /// <c>unavailable</c> on that code only. Blocking twice gives the one block. Errors: not_found (unknown call, another
    /// owner's, or its code is gone), caller_unknown (the caller sent no caller key, or the record expired).</summary>
    public async ValueTask<QrCallingResult<CallerBlock>> BlockCallerAsync(string ownerId, string callId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(callId))
        {
            return QrCallingError.NotFound;
        }
        var call = await _storage.Calls.GetAsync(callId, cancellationToken).ConfigureAwait(false);
        if (call is null || call.OwnerId != ownerId)
        {
            return QrCallingError.NotFound;
        }
        var caller = await _storage.CallerControls.FindCallerAsync(callId, cancellationToken).ConfigureAwait(false);
        if (caller is null || caller.CodeId != call.CodeId)
        {
            return CallerUnknown;
        }
        var block = await _storage.CallerControls.BlockAsync(new CallerBlock
        {
            BlockId = NewBlockId(),
            CodeId = call.CodeId,
            Pseudonym = caller.Pseudonym,
            CreatedAt = _time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
        if (block is null)
        {
            return QrCallingError.NotFound;
        }
        _metrics.CallersBlocked.Add(1);
        Log.CallerBlocked(_logger, block.CodeId, block.BlockId);
        return block;
    }

    /// <summary>The blocks of an owner's code, newest first. Error: not_found.</summary>
    public async ValueTask<QrCallingResult<IReadOnlyList<CallerBlock>>> ListBlocksAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        var code = await FindCodeAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        if (code is null)
        {
            return QrCallingError.NotFound;
        }
        var blocks = await _storage.CallerControls.ListBlocksAsync(code.Id, cancellationToken).ConfigureAwait(false);
        return QrCallingResult<IReadOnlyList<CallerBlock>>.Success(blocks);
    }

    /// <summary>Unblocks one caller of an owner's code. Error: not_found (unknown code or block).</summary>
    public async ValueTask<QrCallingResult<bool>> UnblockAsync(string ownerId, string codeId, string blockId, CancellationToken cancellationToken)
    {
        var code = await FindCodeAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        if (code is null || !QrCallingIds.IsWellFormed(blockId)
            || !await _storage.CallerControls.UnblockAsync(code.Id, blockId, cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        Log.CallerUnblocked(_logger, code.Id, blockId);
        return true;
    }

    /// <summary>Deletes caller records past their retention, at most <see cref="QrCallingOptions.SweepBatchSize"/>.</summary>
    public ValueTask<int> SweepAsync(CancellationToken cancellationToken) =>
        _storage.CallerControls.DeleteExpiredCallersAsync(_time.GetUtcNow(), _options.SweepBatchSize, cancellationToken);

    /// <summary>The stored admission of a caller (null key: anonymous) on an available code.</summary>
    internal async ValueTask<CallerAdmission> AdmissionAsync(CodeRecord code, byte[]? callerKey, CancellationToken cancellationToken)
    {
        IReadOnlyList<byte[]> pseudonyms = callerKey is null ? [] : _pseudonyms.Candidates(code.Id, callerKey);
        var admission = await _storage.CallerControls.GetAdmissionAsync(code.Id, pseudonyms, cancellationToken).ConfigureAwait(false);
        if (admission.Blocked)
        {
            _metrics.BlockedAttempts.Add(1);
        }
        return admission;
    }

    /// <summary>The refusal, if any, of a call start with <paramref name="media"/> on an available code, given its
    /// <paramref name="admission"/>: unavailable for a blocked caller (exactly as a dead code); quiet_hours or chat_only
    /// when the policy holds the media back now; null otherwise (a media the code itself does not allow is left to the
    /// caller of this method).</summary>
    internal QrCallingError? Admit(CodeRecord code, MediaKind media, CallerAdmission admission, DateTimeOffset now)
    {
        if (admission.Blocked)
        {
            return QrCallingError.Unavailable;
        }
        if (media == MediaKind.None || (code.Media & media) == 0)
        {
            return null;
        }
        var decision = CallPolicyEvaluator.Evaluate(admission.Policy, code.Media, now);
        if ((decision.AllowedMedia & media) != 0)
        {
            return null;
        }
        _metrics.PolicyRefusals.Add(1, new KeyValuePair<string, object?>("reason", decision.Quiet ? "quiet_hours" : "chat_only"));
        return decision.QuietUntil is { } until
            ? new QrCallingError(QrCallingErrorCodes.QuietHours,
                $"The owner has quiet hours until {until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}; only chat is taken now.")
            : new QrCallingError(QrCallingErrorCodes.ChatOnly, "The owner takes chats only on this code right now.");
    }

    /// <summary>Records which pseudonym started a call, so the owner can block that caller later.</summary>
    internal ValueTask RecordCallerAsync(Calls.CallRecord call, byte[] callerKey, CancellationToken cancellationToken) =>
        _storage.CallerControls.RecordCallerAsync(new CallCaller
        {
            CallId = call.CallId,
            CodeId = call.CodeId,
            Pseudonym = _pseudonyms.Of(call.CodeId, callerKey),
            ExpiresAt = call.CreatedAt + _options.CallRetention + _options.MaxCallDuration,
        }, cancellationToken);

    private static QrCallingError CallerUnknown { get; } = new(QrCallingErrorCodes.CallerUnknown,
        "This call's caller cannot be blocked: its app sent no caller key, or the call is too old.");

    private async ValueTask<CodeRecord?> FindCodeAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        return QrCallingIds.IsWellFormed(codeId)
            ? await _storage.Codes.FindByIdAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false)
            : null;
    }

    private static string NewBlockId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return BlockIdPrefix + System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }
}
