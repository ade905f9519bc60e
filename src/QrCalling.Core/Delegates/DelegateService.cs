using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Delegates;

/// <summary>An invitation to show as a QR or link to the person who should answer too.</summary>
/// <param name="InvitationPayload">The single-use payload (<c>qdi_</c> + 43 base64url characters).</param>
/// <param name="ExpiresAt">When it stops working.</param>
/// <param name="RingAfter">How long a call rings unanswered before the delegate's devices ring too.</param>
public sealed record DelegateInvitationTicket(string InvitationPayload, DateTimeOffset ExpiresAt, TimeSpan RingAfter);

/// <summary>A delegation as its delegate sees it: the code's label (what the owner chose to show), nothing about the
/// owner.</summary>
/// <param name="Delegate">The delegate record.</param>
/// <param name="Label">The code's label.</param>
public sealed record Delegation(DelegateRecord Delegate, string Label);

/// <summary>Delegates: an owner invites another account (a household member) to answer one of their codes too. The owner
/// asks for a single-use invitation (<see cref="CreateInvitationAsync"/>), the other person, signed in with their own
/// account, redeems it (<see cref="AcceptInvitationAsync"/>); from then on a call to that code that is still ringing
/// <see cref="DelegateRecord.RingAfter"/> after it started also rings the delegate's devices (see
/// <c>CallService.RingDelegatesAsync</c>), and the first accept on any device wins. Neither the caller nor the delegate
/// learns anything about the owner beyond the code's label.</summary>
public sealed class DelegateService
{
    /// <summary>Prefix of invitation payloads.</summary>
    public const string InvitationPrefix = "qdi_";
    /// <summary>Prefix of delegate ids.</summary>
    public const string DelegateIdPrefix = "dlg_";

    private const int SecretBytes = 32;
    private static readonly int SecretChars = Base64Url.GetEncodedLength(SecretBytes);

    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DelegateService> _logger;
    private readonly QrCallingMetrics _metrics;

    internal DelegateService(IStorage storage, TokenHasher hasher, IOptions<QrCallingOptions> options, TimeProvider timeProvider,
        ILogger<DelegateService> logger, QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>The one answer for an unknown, expired or already used invitation.</summary>
    public static QrCallingError InvitationUnavailable { get; } =
        new(QrCallingErrorCodes.InvitationUnavailable, "This invitation is not valid any more; ask for a new one.");

    /// <summary>A new single-use invitation to answer one of an owner's codes, valid
    /// <see cref="QrCallingOptions.DelegateInvitationLifetime"/>. <paramref name="ringAfter"/> (default
    /// <see cref="QrCallingOptions.DelegateRingAfter"/>) must be at least 0 and less than the ring timeout. Errors:
    /// not_found (unknown code or another owner's, or a revoked one), invalid_request.</summary>
    public async ValueTask<QrCallingResult<DelegateInvitationTicket>> CreateInvitationAsync(string ownerId, string codeId, TimeSpan? ringAfter,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var delay = ringAfter ?? _options.DelegateRingAfter;
        if (delay < TimeSpan.Zero || delay >= _options.RingTimeout)
        {
            return QrCallingError.InvalidRequest(
                $"ringAfterSeconds must be at least 0 and less than the ring timeout ({(int)_options.RingTimeout.TotalSeconds} seconds).");
        }
        var code = await _storage.Codes.FindByIdAsync(ownerId, codeId ?? "", cancellationToken).ConfigureAwait(false);
        if (code is null || code.RevokedAt is not null)
        {
            return QrCallingError.NotFound;
        }
        var secret = RandomNumberGenerator.GetBytes(SecretBytes);
        var expiresAt = _time.GetUtcNow() + _options.DelegateInvitationLifetime;
        await _storage.Delegates.CreateInvitationAsync(new DelegateInvitation
        {
            SecretHash = _hasher.Hash(secret),
            OwnerId = ownerId,
            CodeId = code.Id,
            RingAfter = delay,
            ExpiresAt = expiresAt,
        }, cancellationToken).ConfigureAwait(false);
        return new DelegateInvitationTicket(InvitationPrefix + Base64Url.EncodeToString(secret), expiresAt, delay);
    }

    /// <summary>Redeems an invitation (once) for <paramref name="accountId"/>, who becomes a delegate of the code. Errors:
    /// invitation_unavailable (unknown, expired, used, malformed: one answer), invalid_request (the code's own owner),
    /// quota_exceeded (the code has <see cref="QrCallingOptions.MaxDelegatesPerCode"/> delegates).</summary>
    public async ValueTask<QrCallingResult<Delegation>> AcceptInvitationAsync(string accountId, string? invitationPayload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        if (ParseSecret(invitationPayload) is not { } secret)
        {
            Log.InvitationRefused(_logger);
            return InvitationUnavailable;
        }
        var now = _time.GetUtcNow();
        var delegateId = DelegateIdPrefix + Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        DelegateAcceptResult result = default;
        foreach (var hash in _hasher.CandidateHashes(secret))
        {
            result = await _storage.Delegates.AcceptInvitationAsync(hash, accountId, delegateId, now, _options.MaxDelegatesPerCode, cancellationToken)
                .ConfigureAwait(false);
            if (result.Status != DelegateAcceptStatus.InvitationUnavailable)
            {
                break;
            }
        }
        switch (result.Status)
        {
            case DelegateAcceptStatus.OwnInvitation:
                return QrCallingError.InvalidRequest("This invitation is for your own code: open it while signed in as the person who should answer too.");
            case DelegateAcceptStatus.QuotaExceeded:
                return new QrCallingError(QrCallingErrorCodes.QuotaExceeded, $"This code has {_options.MaxDelegatesPerCode} people answering already.");
        }
        if (result.Delegate is not { } record)
        {
            Log.InvitationRefused(_logger);
            return InvitationUnavailable;
        }
        // A code deleted meanwhile (memory and Redis keep delegates apart from codes) takes its delegates with it.
        var code = await _storage.Codes.FindByIdAsync(record.OwnerId, record.CodeId, cancellationToken).ConfigureAwait(false);
        if (code is null || code.RevokedAt is not null)
        {
            await _storage.Delegates.DeleteAsync(record.DelegateId, record.OwnerId, cancellationToken).ConfigureAwait(false);
            return InvitationUnavailable;
        }
        if (record.DelegateId == delegateId)
        {
            _metrics.DelegatesAdded.Add(1);
            Log.DelegateAdded(_logger, record.DelegateId, record.CodeId);
        }
        return new Delegation(record, code.Label);
    }

    /// <summary>The delegates of one of an owner's codes, oldest first; not_found for an unknown code or another owner's.</summary>
    public async ValueTask<QrCallingResult<IReadOnlyList<DelegateRecord>>> ListForCodeAsync(string ownerId, string codeId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        if (await _storage.Codes.FindByIdAsync(ownerId, codeId ?? "", cancellationToken).ConfigureAwait(false) is null)
        {
            return QrCallingError.NotFound;
        }
        var list = await _storage.Delegates.ListByCodeAsync(codeId!, cancellationToken).ConfigureAwait(false);
        return QrCallingResult<IReadOnlyList<DelegateRecord>>.Success([.. list.Where(d => d.OwnerId == ownerId)]);
    }

    /// <summary>The codes an account answers for (its delegations), with each code's label, oldest first. Codes that are
    /// gone or revoked are left out.</summary>
    public async ValueTask<IReadOnlyList<Delegation>> ListForDelegateAsync(string accountId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        var result = new List<Delegation>();
        foreach (var record in await _storage.Delegates.ListByDelegateAsync(accountId, cancellationToken).ConfigureAwait(false))
        {
            if (await _storage.Codes.FindByIdAsync(record.OwnerId, record.CodeId, cancellationToken).ConfigureAwait(false) is { RevokedAt: null } code)
            {
                result.Add(new Delegation(record, code.Label));
            }
        }
        return result;
    }

    /// <summary>The owner removes a delegate of one of their codes; false for an unknown delegate, another code's or
    /// another owner's.</summary>
    public async ValueTask<bool> RemoveAsync(string ownerId, string codeId, string delegateId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var record = await _storage.Delegates.GetAsync(delegateId ?? "", cancellationToken).ConfigureAwait(false);
        if (record is null || record.OwnerId != ownerId || record.CodeId != codeId
            || !await _storage.Delegates.DeleteAsync(record.DelegateId, ownerId, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _metrics.DelegatesRemoved.Add(1);
        Log.DelegateRemoved(_logger, record.DelegateId, record.CodeId);
        return true;
    }

    /// <summary>A delegate stops answering for a code; false for an unknown delegation or another account's.</summary>
    public async ValueTask<bool> LeaveAsync(string accountId, string delegateId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        var record = await _storage.Delegates.GetAsync(delegateId ?? "", cancellationToken).ConfigureAwait(false);
        if (record is null || record.DelegateOwnerId != accountId
            || !await _storage.Delegates.DeleteAsync(record.DelegateId, accountId, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        _metrics.DelegatesRemoved.Add(1);
        Log.DelegateRemoved(_logger, record.DelegateId, record.CodeId);
        return true;
    }

    private static byte[]? ParseSecret(string? text)
    {
        if (text is null || text.Length != InvitationPrefix.Length + SecretChars || !text.StartsWith(InvitationPrefix, StringComparison.Ordinal))
        {
            return null;
        }
        var bytes = new byte[SecretBytes];
        return Base64Url.TryDecodeFromChars(text.AsSpan(InvitationPrefix.Length), bytes, out var written) && written == SecretBytes
            && Base64Url.EncodeToString(bytes) == text[InvitationPrefix.Length..] ? bytes : null;
    }
}
