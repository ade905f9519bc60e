using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Codes;

/// <summary>What an owner asks for when issuing a code.</summary>
public sealed record CodeSpec
{
    /// <summary>Label shown to scanners; trimmed; at most <see cref="QrCallingOptions.MaxLabelLength"/> characters.</summary>
    public string? Label { get; init; }
    /// <summary>Allowed media; null for all.</summary>
    public MediaKind? Media { get; init; }
    /// <summary>Lifetime in seconds; null for <see cref="QrCallingOptions.DefaultCodeLifetime"/>.</summary>
    public long? ExpiresInSeconds { get; init; }
    /// <summary>Scan limit (1 or more); null for unlimited.</summary>
    public int? MaxScans { get; init; }
}

/// <summary>What an owner changes on an existing code; a null member keeps that field.</summary>
public sealed record CodeUpdate
{
    /// <summary>The new label, validated as on issue (trimmed; at most <see cref="QrCallingOptions.MaxLabelLength"/>
    /// characters; no control characters); null to keep the label.</summary>
    public string? Label { get; init; }
    /// <summary>The new set of allowed media (not empty); null to keep it. Calls already started keep the media their
    /// code allowed when they started.</summary>
    public MediaKind? Media { get; init; }
}

/// <summary>Which of an owner's codes a list returns: a page of at most <see cref="Limit"/> codes created before
/// <see cref="Before"/>, optionally only those in <see cref="State"/> or whose label contains <see cref="LabelContains"/>.</summary>
public sealed record CodeListQuery
{
    /// <summary>Most codes returned, 1 to 200.</summary>
    public int Limit { get; init; } = 200;
    /// <summary>Only codes created before this instant; null for the newest.</summary>
    public DateTimeOffset? Before { get; init; }
    /// <summary>Only codes in this state now; null for every state.</summary>
    public CodeState? State { get; init; }
    /// <summary>Only codes whose label contains this text (ignoring case); null or empty for every label.</summary>
    public string? LabelContains { get; init; }
}

/// <summary>A newly issued code with its payload; the payload is shown here only and never stored.</summary>
/// <param name="Code">The stored record.</param>
/// <param name="Payload">The payload, UPPER case.</param>
public sealed record IssuedCode(CodeRecord Code, string Payload);

/// <summary>What a scanner learns about a code: label and media, nothing else.</summary>
/// <param name="Label">The label.</param>
/// <param name="Media">Allowed media.</param>
public sealed record CodeInfo(string Label, MediaKind Media)
{
    /// <summary>The owner, for <see cref="CodeReachability"/>; never shown to the scanner, and not part of equality.</summary>
    internal string? OwnerId { get; init; }

    /// <summary>What the code's owner allows now (quiet hours, chat only); null when not looked up. Not part of
    /// equality.</summary>
    public CallPolicyDecision? Policy { get; init; }

    /// <summary>Equal when what a scanner learns is equal: label and media.</summary>
    public bool Equals(CodeInfo? other) => other is not null && Label == other.Label && Media == other.Media;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Label, Media);
}

/// <summary>The code lifecycle: issue, list, revoke, rotate, scan. Bad input is a typed result, never an exception.</summary>
public sealed class CodeService
{
    /// <summary>Every code id starts with this prefix; the rest is 16 random bytes in lower-case base32.</summary>
    public const string CodeIdPrefix = "c_";

    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly ICodeCallEnder _calls;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<CodeService> _logger;
    private readonly QrCallingMetrics _metrics;
    private readonly CodeResolver _resolver;

    internal CodeService(IStorage storage, TokenHasher hasher, ICodeCallEnder calls, IOptions<QrCallingOptions> options,
        TimeProvider timeProvider, ILogger<CodeService> logger, QrCallingMetrics metrics, CallerControlService controls,
        ISessionQrSigner? sessionQr = null)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _calls = calls ?? throw new ArgumentNullException(nameof(calls));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _resolver = new CodeResolver(storage, hasher, timeProvider, metrics, controls, sessionQr);
    }

    /// <summary>Issues a code for an owner. Errors: invalid_request (label too long, bad media, lifetime out of range,
    /// maxScans &lt; 1), quota_exceeded (the owner already has <see cref="QrCallingOptions.MaxLiveCodesPerOwner"/> live
    /// codes).</summary>
    public async ValueTask<QrCallingResult<IssuedCode>> IssueAsync(string ownerId, CodeSpec spec, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentNullException.ThrowIfNull(spec);

        var label = (spec.Label ?? "").Trim();
        var error = Validate(label, spec);
        if (error is not null)
        {
            Log.CodeRequestRejected(_logger, error.Detail);
            return error;
        }
        TimeSpan? lifetime = spec.ExpiresInSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : _options.DefaultCodeLifetime;
        // One issue at a time per owner (on this instance), so concurrent requests cannot pass the cap together.
        var gate = _issueGates.GetOrAdd(ownerId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await CountLiveAsync(ownerId, _options.MaxLiveCodesPerOwner, cancellationToken).ConfigureAwait(false) >= _options.MaxLiveCodesPerOwner)
            {
                Log.CodeRequestRejected(_logger, QrCallingErrorCodes.QuotaExceeded);
                return new QrCallingError(QrCallingErrorCodes.QuotaExceeded,
                    $"An owner may have at most {_options.MaxLiveCodesPerOwner} live codes; revoke one first.");
            }
            return await CreateAsync(ownerId, label, spec.Media ?? MediaKinds.All, lifetime, spec.MaxScans, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _issueGates = new(StringComparer.Ordinal);

    /// <summary>The owner's live codes (not revoked, not expired, not used up), counting no further than
    /// <paramref name="stopAt"/>.</summary>
    private async ValueTask<int> CountLiveAsync(string ownerId, int stopAt, CancellationToken cancellationToken)
    {
        var now = _timeProvider.GetUtcNow();
        var live = 0;
        await foreach (var code in _storage.Codes.ListByOwnerAsync(ownerId, cancellationToken).ConfigureAwait(false))
        {
            if (code.RevokedAt is null && (code.ExpiresAt is null || code.ExpiresAt > now) && (code.MaxScans is null || code.ScanCount < code.MaxScans)
                && ++live >= stopAt)
            {
                break;
            }
        }
        return live;
    }

    /// <summary>An owner's codes, newest first.</summary>
    public IAsyncEnumerable<CodeRecord> ListAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        return _storage.Codes.ListByOwnerAsync(ownerId, cancellationToken);
    }

    /// <summary>One page of an owner's codes, newest first: at most <paramref name="limit"/> (1 to 200) created before
    /// <paramref name="before"/> when given.</summary>
    public ValueTask<IReadOnlyList<CodeRecord>> ListPageAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) =>
        ListPageAsync(ownerId, new CodeListQuery { Limit = limit, Before = before }, cancellationToken);

    /// <summary>One page of an owner's codes, newest first, filtered by state and label as <paramref name="query"/> asks.
    /// The state is judged at one instant for the whole page.</summary>
    public async ValueTask<IReadOnlyList<CodeRecord>> ListPageAsync(string ownerId, CodeListQuery query, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 200);
        var now = _timeProvider.GetUtcNow();
        var label = string.IsNullOrEmpty(query.LabelContains) ? null : query.LabelContains;
        var page = new List<CodeRecord>(limit);
        await foreach (var code in _storage.Codes.ListByOwnerAsync(ownerId, cancellationToken).ConfigureAwait(false))
        {
            if ((query.Before is null || code.CreatedAt < query.Before)
                && (query.State is null || code.StateAt(now) == query.State)
                && (label is null || code.Label.Contains(label, StringComparison.OrdinalIgnoreCase)))
            {
                page.Add(code);
                if (page.Count == limit)
                {
                    break;
                }
            }
        }
        return page;
    }

    /// <summary>One of an owner's codes. Error: not_found (unknown, another owner's, or deleted).</summary>
    public async ValueTask<QrCallingResult<CodeRecord>> GetAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        var code = await _storage.Codes.FindByIdAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        return code is null ? QrCallingError.NotFound : code;
    }

    /// <summary>Pauses (<paramref name="paused"/> true) or resumes an owner's code and returns it. A paused code answers a
    /// scan or a call start exactly like an unavailable one; calls already ringing or active go on. Pausing a paused code
    /// or resuming a running one changes nothing (and succeeds). Error: not_found (unknown or another owner's code).</summary>
    public async ValueTask<QrCallingResult<CodeRecord>> SetPausedAsync(string ownerId, string codeId, bool paused, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        var updated = await _storage.Codes.SetPausedAsync(ownerId, codeId, paused ? _timeProvider.GetUtcNow() : null, cancellationToken).ConfigureAwait(false);
        if (updated is null)
        {
            return QrCallingError.NotFound;
        }
        Log.CodePaused(_logger, codeId, paused);
        return updated;
    }

    /// <summary>Revokes an owner's code and ends its open calls with <c>revoked</c>. Error: not_found (unknown, another
    /// owner's, or already revoked).</summary>
    public async ValueTask<QrCallingResult<bool>> RevokeAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        if (!await _storage.Codes.RevokeAsync(ownerId, codeId, _timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        var ended = await _calls.EndCallsOfCodeAsync(codeId, cancellationToken).ConfigureAwait(false);
        Log.CodeRevoked(_logger, codeId, ended);
        return true;
    }

    /// <summary>Revokes a code and issues a new one with the same label, media, remaining lifetime policy and maxScans.
    /// The new code lives as long as the old one was issued for (its expiresAt minus its createdAt), counted from now;
    /// a code that never expires is replaced by one that never expires. Error: not_found.</summary>
    public async ValueTask<QrCallingResult<IssuedCode>> RotateAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        var old = await _storage.Codes.FindByIdAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false);
        if (old is null || old.RevokedAt is not null)
        {
            return QrCallingError.NotFound;
        }
        // Revoke first: of two concurrent rotations only one issues a new code.
        if (!await _storage.Codes.RevokeAsync(ownerId, codeId, _timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        var issued = await CreateAsync(ownerId, old.Label, old.Media, old.ExpiresAt - old.CreatedAt, old.MaxScans, cancellationToken).ConfigureAwait(false);
        var ended = await _calls.EndCallsOfCodeAsync(codeId, cancellationToken).ConfigureAwait(false);
        Log.CodeRevoked(_logger, codeId, ended);
        Log.CodeRotated(_logger, codeId, issued.Code.Id);
        return issued;
    }

    /// <summary>Changes the label and/or the media of an owner's code, validated as on issue, and returns the updated
    /// record. Errors: invalid_request, not_found (unknown or another owner's code).</summary>
    public async ValueTask<QrCallingResult<CodeRecord>> UpdateAsync(string ownerId, string codeId, CodeUpdate update, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        ArgumentNullException.ThrowIfNull(update);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        var label = update.Label?.Trim();
        var error = Validate(label ?? "", new CodeSpec { Media = update.Media });
        if (error is not null)
        {
            Log.CodeRequestRejected(_logger, error.Detail);
            return error;
        }
        var updated = await _storage.Codes.UpdateAsync(ownerId, codeId, label, update.Media, cancellationToken).ConfigureAwait(false);
        if (updated is null)
        {
            return QrCallingError.NotFound;
        }
        Log.CodeUpdated(_logger, codeId);
        return updated;
    }

    /// <summary>Deletes an owner's code for good and ends its open calls with <c>revoked</c>, as a revoke does. A scan of
    /// it then answers exactly as for a code that never existed (<c>unavailable</c>). Error: not_found (unknown or
    /// another owner's code).</summary>
    public async ValueTask<QrCallingResult<bool>> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(ownerId);
        if (!QrCallingIds.IsWellFormed(codeId))
        {
            return QrCallingError.NotFound;
        }
        if (!await _storage.Codes.DeleteAsync(ownerId, codeId, cancellationToken).ConfigureAwait(false))
        {
            return QrCallingError.NotFound;
        }
        await _storage.Delegates.DeleteByCodeAsync(codeId, CancellationToken.None).ConfigureAwait(false);
        // A call started from it at the same moment finds the code gone when it checks again and ends itself.
        var ended = await _calls.EndCallsOfCodeAsync(codeId, CancellationToken.None).ConfigureAwait(false);
        Log.CodeDeleted(_logger, codeId, ended);
        return true;
    }

    /// <summary>What a scanner sees: label and media. Does not count against maxScans (starting a call does).
    /// Errors: malformed, checksum, unavailable.</summary>
    public ValueTask<QrCallingResult<CodeInfo>> ScanAsync(string? payload, CancellationToken cancellationToken) =>
        ScanAsync(payload, callerKey: null, cancellationToken);

    /// <summary>As <see cref="ScanAsync(string?, CancellationToken)"/>, and says what the owner allows now
    /// (<see cref="CodeInfo.Policy"/>: quiet hours, chat only). A caller whose browser sent <paramref name="callerKey"/>
    /// (base64url of 32 bytes) and whom the owner blocked on this code gets <c>unavailable</c>, exactly as for a dead
    /// code. Errors: malformed, checksum, unavailable, invalid_request (a malformed caller key).</summary>
    public async ValueTask<QrCallingResult<CodeInfo>> ScanAsync(string? payload, string? callerKey, CancellationToken cancellationToken)
    {
        using var activity = QrCallingTracing.Source.StartActivity(QrCallingDiagnostics.ScanActivity);
        var result = await ScanCoreAsync(payload, callerKey, cancellationToken).ConfigureAwait(false);
        QrCallingTracing.Complete(activity, result.Error);
        return result;
    }

    private async ValueTask<QrCallingResult<CodeInfo>> ScanCoreAsync(string? payload, string? callerKey, CancellationToken cancellationToken)
    {
        if (!CallerControlService.TryParseOptional(callerKey, out var key))
        {
            Log.ScanRejected(_logger, QrCallingErrorCodes.InvalidRequest);
            return CallerControlService.BadCallerKey;
        }
        var resolved = await _resolver.ResolveWithPolicyAsync(payload, countScan: false, MediaKind.None, key, cancellationToken).ConfigureAwait(false);
        if (!resolved.IsSuccess)
        {
            Log.ScanRejected(_logger, resolved.Error!.Code);
            return resolved.Error!;
        }
        var (code, policy) = resolved.Value;
        return new CodeInfo(code.Label, code.Media)
        {
            OwnerId = code.OwnerId,
            Policy = CallPolicyEvaluator.Evaluate(policy, code.Media, _timeProvider.GetUtcNow()),
        };
    }

    /// <summary>A fresh code id: <see cref="CodeIdPrefix"/> and 16 random bytes in lower-case base32 (28 characters).</summary>
    internal static string NewCodeId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return CodeIdPrefix + Base32.Encode(bytes, lowerCase: true);
    }

    private QrCallingError? Validate(string label, CodeSpec spec)
    {
        if (label.Length > _options.MaxLabelLength)
        {
            return QrCallingError.InvalidRequest($"The label is longer than {_options.MaxLabelLength} characters.");
        }
        if (label.Any(char.IsControl))
        {
            return QrCallingError.InvalidRequest("The label contains control characters.");
        }
        if (spec.Media is { } media && (media == MediaKind.None || (media & ~MediaKinds.All) != 0))
        {
            return QrCallingError.InvalidRequest("Media must be a non-empty set of audio, video and chat.");
        }
        if (spec.ExpiresInSeconds is { } seconds && (seconds < 1 || seconds > _options.MaxCodeLifetime.TotalSeconds))
        {
            return QrCallingError.InvalidRequest(
                $"expiresInSeconds must be between 1 and {(long)_options.MaxCodeLifetime.TotalSeconds}.");
        }
        if (spec.MaxScans is < 1)
        {
            return QrCallingError.InvalidRequest("maxScans must be 1 or more.");
        }
        return null;
    }

    private async ValueTask<IssuedCode> CreateAsync(string ownerId, string label, MediaKind media, TimeSpan? lifetime,
        int? maxScans, CancellationToken cancellationToken)
    {
        var token = CodeToken.New();
        var now = _timeProvider.GetUtcNow();
        var code = new CodeRecord
        {
            Id = NewCodeId(),
            OwnerId = ownerId,
            KeyHash = _hasher.Hash(token.Bytes),
            Label = label,
            Media = media,
            CreatedAt = now,
            ExpiresAt = lifetime is { } span ? now + span : null,
            MaxScans = maxScans,
        };
        await _storage.Codes.CreateAsync(code, cancellationToken).ConfigureAwait(false);
        _metrics.CodesIssued.Add(1);
        Log.CodeIssued(_logger, code.Id);
        return new IssuedCode(code, CodePayload.Format(token));
    }
}
