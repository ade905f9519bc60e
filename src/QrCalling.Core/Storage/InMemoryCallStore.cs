using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using QrCalling.Calls;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICallStore"/>; deleting a call deletes its mailbox. Every change runs under one lock,
/// so the atomic operations (accept, end, presence) are right by construction; reads see immutable records.</summary>
internal sealed partial class InMemoryCallStore : ICallStore
{
    private readonly InMemoryMailboxStore _mailbox;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, CallRecord> _calls = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _byTokenHash = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _byOwner = new(StringComparer.Ordinal); // under _gate

    public InMemoryCallStore(InMemoryMailboxStore mailbox) => _mailbox = mailbox;

    public ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        cancellationToken.ThrowIfCancellationRequested();
        var tokenKey = Convert.ToHexString(call.CallTokenHash);
        lock (_gate)
        {
            if (_calls.ContainsKey(call.CallId) || _byTokenHash.ContainsKey(tokenKey))
            {
                throw new InvalidOperationException("A call with this id or token hash already exists.");
            }
            _calls[call.CallId] = call;
            _byTokenHash[tokenKey] = call.CallId;
            if (!_byOwner.TryGetValue(call.OwnerId, out var owned))
            {
                _byOwner[call.OwnerId] = owned = new HashSet<string>(StringComparer.Ordinal);
            }
            owned.Add(call.CallId);
        }
        _mailbox.OpenCall(call.CallId);
        return ValueTask.CompletedTask;
    }

    public ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(callId is not null && _calls.TryGetValue(callId, out var call) ? call : null);
    }

    public ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callTokenHash);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(
            _byTokenHash.TryGetValue(Convert.ToHexString(callTokenHash), out var callId) && _calls.TryGetValue(callId, out var call)
                ? call
                : null);
    }

    public ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        cancellationToken.ThrowIfCancellationRequested();
        var accepted = Update(callId, call => call.State == CallState.Ringing
            ? call with { State = CallState.Active, AcceptedDeviceId = deviceId, AnsweredAt = now }
            : null);
        if (accepted is not null)
        {
            _mailbox.MarkCallAccepted(callId);
        }
        return ValueTask.FromResult(accepted);
    }

    public ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (expectedState == CallState.Ended)
        {
            return ValueTask.FromResult<CallRecord?>(null);
        }
        var ended = Update(callId, call => call.State == expectedState
            ? call with { State = CallState.Ended, EndReason = reason, EndedAt = now }
            : null);
        if (ended is not null)
        {
            _mailbox.MarkCallEnded(callId, now);
        }
        return ValueTask.FromResult(ended);
    }

    public ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Update(callId, call => call.State == CallState.Ended
            ? null
            : side == CallSide.Caller ? call with { CallerGoneSince = goneSince } : call with { CalleeGoneSince = goneSince });
        return ValueTask.CompletedTask;
    }

    /// <summary>Sets <see cref="CallRecord.DelegatesRung"/> on a stored call (for <see cref="InMemoryDelegateStore"/>'s ring
    /// mark); nothing when there is no such call.</summary>
    public void MarkDelegatesRung(string callId) => Update(callId, call => call.DelegatesRung ? null : call with { DelegatesRung = true });

    public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) =>
        ToAsync(OwnedBy(ownerId)
            .Where(c => before is null || c.CreatedAt < before)
            .OrderByDescending(c => c.CreatedAt)
            .ThenByDescending(c => c.CallId, StringComparer.Ordinal)
            .Take(Math.Max(0, limit))
            .ToArray(), cancellationToken);

    /// <summary>The owner's calls, from the per-owner index (not a scan of every call).</summary>
    private List<CallRecord> OwnedBy(string ownerId)
    {
        lock (_gate)
        {
            var result = new List<CallRecord>();
            if (_byOwner.TryGetValue(ownerId, out var ids))
            {
                foreach (var id in ids)
                {
                    if (_calls.TryGetValue(id, out var call))
                    {
                        result.Add(call);
                    }
                }
            }
            return result;
        }
    }

    public IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken) =>
        ToAsync(_calls.Values
            .Where(c => c.State != CallState.Ended)
            .OrderBy(c => c.NextDeadline)
            .ThenBy(c => c.CallId, StringComparer.Ordinal)
            .Take(Math.Max(0, maxCount))
            .ToArray(), cancellationToken);

    public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) =>
        ToAsync(_calls.Values
            .Where(c => c.CodeId == codeId && c.State != CallState.Ended)
            .OrderBy(c => c.CreatedAt)
            .ThenBy(c => c.CallId, StringComparer.Ordinal)
            .Take(Math.Max(0, maxCount))
            .ToArray(), cancellationToken);

    public ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = 0;
        lock (_gate)
        {
            var stale = _calls.Values
                .Where(c => c.State == CallState.Ended && c.EndedAt < cutoff)
                .OrderBy(c => c.EndedAt)
                .Take(Math.Max(0, maxCount))
                .ToArray();
            foreach (var call in stale)
            {
                _calls.TryRemove(call.CallId, out _);
                _byTokenHash.TryRemove(Convert.ToHexString(call.CallTokenHash), out _);
                if (_byOwner.TryGetValue(call.OwnerId, out var owned) && owned.Remove(call.CallId) && owned.Count == 0)
                {
                    _byOwner.Remove(call.OwnerId);
                }
                _mailbox.DeleteCall(call.CallId);
                deleted++;
            }
        }
        return ValueTask.FromResult(deleted);
    }

    /// <summary>Applies <paramref name="change"/> under the lock; a null result means "no change".</summary>
    private CallRecord? Update(string callId, Func<CallRecord, CallRecord?> change)
    {
        ArgumentNullException.ThrowIfNull(callId);
        lock (_gate)
        {
            if (!_calls.TryGetValue(callId, out var call) || change(call) is not { } updated)
            {
                return null;
            }
            _calls[callId] = updated;
            return updated;
        }
    }

    private static async IAsyncEnumerable<CallRecord> ToAsync(CallRecord[] calls, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var call in calls)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return call;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
