namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IDelegateStore"/>: one lock over invitations, delegates and ring marks. A new ring mark
/// then sets the call's <see cref="Calls.CallRecord.DelegatesRung"/> in the call store, still under the lock: whoever
/// sees the flag also sees the mark.</summary>
internal sealed class InMemoryDelegateStore(InMemoryCallStore calls) : IDelegateStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, DelegateInvitation> _invitations = new(StringComparer.Ordinal); // hex of secret hash
    private readonly Dictionary<string, DelegateRecord> _delegates = new(StringComparer.Ordinal); // delegate id
    private readonly Dictionary<(string CallId, string DelegateId), (DelegateRing Ring, DateTimeOffset ExpiresAt)> _rings = [];

    public ValueTask CreateInvitationAsync(DelegateInvitation invitation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        lock (_lock)
        {
            _invitations[Convert.ToHexString(invitation.SecretHash)] = invitation;
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<DelegateAcceptResult> AcceptInvitationAsync(byte[] secretHash, string accountId, string delegateId, DateTimeOffset now, int maxPerCode,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(accountId);
        lock (_lock)
        {
            var key = Convert.ToHexString(secretHash);
            if (!_invitations.TryGetValue(key, out var invitation) || invitation.ExpiresAt <= now)
            {
                return ValueTask.FromResult(new DelegateAcceptResult(DelegateAcceptStatus.InvitationUnavailable, null));
            }
            if (invitation.OwnerId == accountId)
            {
                return ValueTask.FromResult(new DelegateAcceptResult(DelegateAcceptStatus.OwnInvitation, null));
            }
            var ofCode = _delegates.Values.Where(d => d.CodeId == invitation.CodeId).ToList();
            if (ofCode.FirstOrDefault(d => d.DelegateOwnerId == accountId) is { } existing)
            {
                _invitations.Remove(key);
                return ValueTask.FromResult(new DelegateAcceptResult(DelegateAcceptStatus.Accepted, existing));
            }
            if (ofCode.Count >= maxPerCode)
            {
                return ValueTask.FromResult(new DelegateAcceptResult(DelegateAcceptStatus.QuotaExceeded, null));
            }
            var record = new DelegateRecord
            {
                DelegateId = delegateId,
                CodeId = invitation.CodeId,
                OwnerId = invitation.OwnerId,
                DelegateOwnerId = accountId,
                RingAfter = invitation.RingAfter,
                CreatedAt = now,
            };
            _invitations.Remove(key);
            _delegates[delegateId] = record;
            return ValueTask.FromResult(new DelegateAcceptResult(DelegateAcceptStatus.Accepted, record));
        }
    }

    public ValueTask<int> DeleteExpiredInvitationsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var expired = _invitations.Where(i => i.Value.ExpiresAt <= now).Take(maxCount).Select(i => i.Key).ToList();
            foreach (var key in expired)
            {
                _invitations.Remove(key);
            }
            return ValueTask.FromResult(expired.Count);
        }
    }

    public ValueTask<DelegateRecord?> GetAsync(string delegateId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_delegates.GetValueOrDefault(delegateId ?? ""));
        }
    }

    public ValueTask<IReadOnlyList<DelegateRecord>> ListByCodeAsync(string codeId, CancellationToken cancellationToken) =>
        List(d => d.CodeId == codeId);

    public ValueTask<IReadOnlyList<DelegateRecord>> ListByDelegateAsync(string delegateOwnerId, CancellationToken cancellationToken) =>
        List(d => d.DelegateOwnerId == delegateOwnerId);

    private ValueTask<IReadOnlyList<DelegateRecord>> List(Func<DelegateRecord, bool> predicate)
    {
        lock (_lock)
        {
            IReadOnlyList<DelegateRecord> list = [.. _delegates.Values.Where(predicate).OrderBy(d => d.CreatedAt).ThenBy(d => d.DelegateId, StringComparer.Ordinal)];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<bool> DeleteAsync(string delegateId, string accountId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_delegates.TryGetValue(delegateId ?? "", out var record) || (record.OwnerId != accountId && record.DelegateOwnerId != accountId))
            {
                return ValueTask.FromResult(false);
            }
            _delegates.Remove(record.DelegateId);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<int> DeleteByCodeAsync(string codeId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var ids = _delegates.Values.Where(d => d.CodeId == codeId).Select(d => d.DelegateId).ToList();
            ids.ForEach(id => _delegates.Remove(id));
            foreach (var key in _invitations.Where(i => i.Value.CodeId == codeId).Select(i => i.Key).ToList())
            {
                _invitations.Remove(key);
            }
            return ValueTask.FromResult(ids.Count);
        }
    }

    public ValueTask<int> EraseAccountAsync(string accountId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var ids = _delegates.Values.Where(d => d.OwnerId == accountId || d.DelegateOwnerId == accountId).Select(d => d.DelegateId).ToList();
            ids.ForEach(id => _delegates.Remove(id));
            foreach (var key in _invitations.Where(i => i.Value.OwnerId == accountId).Select(i => i.Key).ToList())
            {
                _invitations.Remove(key);
            }
            return ValueTask.FromResult(ids.Count);
        }
    }

    public ValueTask<bool> TryMarkRungAsync(DelegateRing ring, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ring);
        lock (_lock)
        {
            if (!_rings.TryAdd((ring.CallId, ring.DelegateId), (ring, expiresAt)))
            {
                return ValueTask.FromResult(false);
            }
            calls.MarkDelegatesRung(ring.CallId);
            return ValueTask.FromResult(true);
        }
    }

    public ValueTask<IReadOnlyList<DelegateRing>> ListRungAsync(string callId, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<DelegateRing> list = [.. _rings.Where(r => r.Key.CallId == callId).Select(r => r.Value.Ring)
                .OrderBy(r => r.DelegateId, StringComparer.Ordinal)];
            return ValueTask.FromResult(list);
        }
    }

    public ValueTask<int> DeleteExpiredRingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var expired = _rings.Where(r => r.Value.ExpiresAt <= now).Take(maxCount).Select(r => r.Key).ToList();
            expired.ForEach(key => _rings.Remove(key));
            return ValueTask.FromResult(expired.Count);
        }
    }
}
