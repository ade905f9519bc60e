namespace QrCalling.Storage;

/// <summary>An invitation an owner made for one of their codes: whoever redeems it (signed in with another account)
/// becomes a delegate of the code. Single use, short-lived; only the keyed hash of its secret is kept.</summary>
public sealed record DelegateInvitation
{
    /// <summary>Keyed hash of the invitation secret (32 bytes).</summary>
    public required byte[] SecretHash { get; init; }
    /// <summary>The code's owner, who made the invitation.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The code the delegate will answer for.</summary>
    public required string CodeId { get; init; }
    /// <summary>How long a call rings unanswered before the delegate's devices ring too.</summary>
    public required TimeSpan RingAfter { get; init; }
    /// <summary>When it stops working.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>A delegate: another account that also answers one of an owner's codes, once a call has rung
/// <see cref="RingAfter"/> unanswered.</summary>
public sealed record DelegateRecord
{
    /// <summary>The delegate id (<c>dlg_</c> + 22 base64url characters).</summary>
    public required string DelegateId { get; init; }
    /// <summary>The code it answers for.</summary>
    public required string CodeId { get; init; }
    /// <summary>The code's owner.</summary>
    public required string OwnerId { get; init; }
    /// <summary>The account that answers (the host's user id of the delegate).</summary>
    public required string DelegateOwnerId { get; init; }
    /// <summary>How long a call rings unanswered before this delegate's devices ring too.</summary>
    public required TimeSpan RingAfter { get; init; }
    /// <summary>When the invitation was accepted.</summary>
    public required DateTimeOffset CreatedAt { get; init; }
}

/// <summary>That a delegate's devices were rung for a call (kept while the call may live), so that of several host
/// instances only one rings them, and the call's later events (ring-stop, end) reach them.</summary>
/// <param name="CallId">The call.</param>
/// <param name="DelegateId">The delegate rung.</param>
/// <param name="DelegateOwnerId">The delegate's account.</param>
public sealed record DelegateRing(string CallId, string DelegateId, string DelegateOwnerId);

/// <summary>What <see cref="IDelegateStore.AcceptInvitationAsync"/> did.</summary>
public enum DelegateAcceptStatus
{
    /// <summary>The invitation was taken and the delegate stored (or the account already was a delegate of the code: then
    /// the existing record is returned and the invitation is spent).</summary>
    Accepted,
    /// <summary>No live invitation has this secret hash (unknown, expired or already taken); nothing changed.</summary>
    InvitationUnavailable,
    /// <summary>The accepting account is the code's owner; nothing changed, the invitation stays.</summary>
    OwnInvitation,
    /// <summary>The code has the most delegates allowed; nothing changed, the invitation stays.</summary>
    QuotaExceeded,
}

/// <summary>The outcome of <see cref="IDelegateStore.AcceptInvitationAsync"/>.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Delegate">The delegate when <see cref="DelegateAcceptStatus.Accepted"/>, else null.</param>
public readonly record struct DelegateAcceptResult(DelegateAcceptStatus Status, DelegateRecord? Delegate);

/// <summary>Storage of delegates (other accounts that also answer an owner's code), their pending invitations, and which
/// delegates were rung for which call.</summary>
public interface IDelegateStore
{
    /// <summary>Stores a pending invitation.</summary>
    ValueTask CreateInvitationAsync(DelegateInvitation invitation, CancellationToken cancellationToken);

    /// <summary>Atomically redeems an invitation for <paramref name="accountId"/>: if an invitation with this secret hash
    /// exists and has not expired at <paramref name="now"/>, the account is not its owner and the code has fewer than
    /// <paramref name="maxPerCode"/> delegates, deletes the invitation and stores a delegate with
    /// <paramref name="delegateId"/>, created at <paramref name="now"/>. An account that already is a delegate of the
    /// code gets its existing record (the invitation is spent). Of N concurrent redemptions of one invitation at most
    /// one is accepted.</summary>
    ValueTask<DelegateAcceptResult> AcceptInvitationAsync(byte[] secretHash, string accountId, string delegateId, DateTimeOffset now, int maxPerCode,
        CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> invitations that expired at or before <paramref name="now"/>;
    /// returns how many.</summary>
    ValueTask<int> DeleteExpiredInvitationsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);

    /// <summary>One delegate by id; null if none.</summary>
    ValueTask<DelegateRecord?> GetAsync(string delegateId, CancellationToken cancellationToken);

    /// <summary>The delegates of a code, oldest first.</summary>
    ValueTask<IReadOnlyList<DelegateRecord>> ListByCodeAsync(string codeId, CancellationToken cancellationToken);

    /// <summary>The delegations an account holds (codes of other owners it answers for), oldest first.</summary>
    ValueTask<IReadOnlyList<DelegateRecord>> ListByDelegateAsync(string delegateOwnerId, CancellationToken cancellationToken);

    /// <summary>Deletes a delegate if <paramref name="accountId"/> is the code's owner or the delegate's account; false
    /// otherwise or when unknown.</summary>
    ValueTask<bool> DeleteAsync(string delegateId, string accountId, CancellationToken cancellationToken);

    /// <summary>Deletes every delegate of a code (the code was deleted); returns how many.</summary>
    ValueTask<int> DeleteByCodeAsync(string codeId, CancellationToken cancellationToken);

    /// <summary>Deletes what belongs to an account both ways: delegates of its codes, its delegations on others' codes,
    /// and its pending invitations. Returns how many delegates.</summary>
    ValueTask<int> EraseAccountAsync(string accountId, CancellationToken cancellationToken);

    /// <summary>Atomically marks that <paramref name="ring"/>'s delegate was rung for its call, kept until
    /// <paramref name="expiresAt"/>; true for the one caller that set the mark, false if it was set before. In the same
    /// atomic step, sets <see cref="Calls.CallRecord.DelegatesRung"/> on the stored call (when it exists), so that an
    /// accept or end that returns the call with the flag false is ordered before the mark, and one that returns it true
    /// finds the mark in <see cref="ListRungAsync"/>.</summary>
    ValueTask<bool> TryMarkRungAsync(DelegateRing ring, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>The delegates rung for a call (marks not yet expired or swept).</summary>
    ValueTask<IReadOnlyList<DelegateRing>> ListRungAsync(string callId, CancellationToken cancellationToken);

    /// <summary>Deletes up to <paramref name="maxCount"/> ring marks that expired at or before <paramref name="now"/>;
    /// returns how many.</summary>
    ValueTask<int> DeleteExpiredRingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken);
}
