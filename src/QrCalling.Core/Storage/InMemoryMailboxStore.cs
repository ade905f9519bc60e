using System.Collections.Concurrent;
using QrCalling.Calls;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IMailboxStore"/>. Each call's mailbox has its own lock, so appends to one call are
/// serialized (gap-free seqs, budgets checked and charged in the same step) while calls do not contend. The call store
/// keeps each mailbox's view of its call's state current (<see cref="OpenCall"/>, <see cref="MarkCallAccepted"/>,
/// <see cref="MarkCallEnded"/>, <see cref="DeleteCall"/>), under the mailbox's lock, so an append never lands after the
/// call ended.</summary>
internal sealed class InMemoryMailboxStore : IMailboxStore
{
    private readonly ConcurrentDictionary<string, Box> _boxes = new(StringComparer.Ordinal);

    public ValueTask<MailboxAppendResult> AppendAsync(string callId, MailboxEntry entry, MailboxBudget budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        ArgumentNullException.ThrowIfNull(entry);
        cancellationToken.ThrowIfCancellationRequested();
        if (entry.To is not { } to)
        {
            return ValueTask.FromResult(AppendLifecycle(callId, entry));
        }
        if (!_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult(MailboxAppendResult.CallNotOpen);
        }
        var size = entry.Size;
        lock (box.Gate)
        {
            if (box.Removed || box.State != BoxState.Ringing && box.State != BoxState.Active)
            {
                return ValueTask.FromResult(MailboxAppendResult.CallNotOpen);
            }
            var limit = box.State == BoxState.Ringing ? budget.RingingBytes : budget.SideBytes;
            ref var pending = ref box.Pending(to);
            if (pending + size > limit)
            {
                return ValueTask.FromResult(MailboxAppendResult.Full);
            }
            pending += size;
            var seq = ++box.LastSeq;
            box.Entries.Add(new Stored(entry with { Seq = seq }, size));
            return ValueTask.FromResult(MailboxAppendResult.Appended(seq, pending));
        }
    }

    private MailboxAppendResult AppendLifecycle(string callId, MailboxEntry entry)
    {
        while (true)
        {
            var box = _boxes.GetOrAdd(callId, static _ => new Box(BoxState.Unknown));
            lock (box.Gate)
            {
                if (box.Removed)
                {
                    continue; // deleted concurrently: start a fresh mailbox
                }
                var seq = ++box.LastSeq;
                box.Entries.Add(new Stored(entry with { Seq = seq }, entry.Size));
                return MailboxAppendResult.Appended(seq);
            }
        }
    }

    public ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, CallSide side, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        if (maxCount <= 0 || !_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult<IReadOnlyList<MailboxEntry>>([]);
        }
        lock (box.Gate)
        {
            var result = new List<MailboxEntry>();
            long bytes = 0;
            // Entries are in seq order: find the first after afterSeq, then walk.
            var start = FirstAfter(box.Entries, afterSeq);
            for (var i = start; i < box.Entries.Count && result.Count < maxCount; i++)
            {
                var stored = box.Entries[i];
                if (stored.Entry.To is { } to && to != side)
                {
                    continue;
                }
                if (result.Count > 0 && bytes + stored.Size > maxBytes)
                {
                    break;
                }
                bytes += stored.Size;
                result.Add(stored.Entry);
            }
            return ValueTask.FromResult<IReadOnlyList<MailboxEntry>>(result);
        }
    }

    public ValueTask<int> AcknowledgeAsync(string callId, CallSide side, long upToSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult(0);
        }
        lock (box.Gate)
        {
            var freed = 0L;
            var removed = box.Entries.RemoveAll(stored =>
            {
                if (stored.Entry.Seq > upToSeq || stored.Entry.To != side)
                {
                    return false;
                }
                freed += stored.Size;
                return true;
            });
            box.Pending(side) -= freed;
            return ValueTask.FromResult(removed);
        }
    }

    public ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult(0L);
        }
        lock (box.Gate)
        {
            return ValueTask.FromResult(box.LastSeq);
        }
    }

    public ValueTask<long> GetPendingBytesAsync(string callId, CallSide side, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        if (!_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult(0L);
        }
        lock (box.Gate)
        {
            return ValueTask.FromResult(box.Pending(side));
        }
    }

    public ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var deleted = 0;
        var candidates = _boxes
            .Where(p => p.Value.EndedAt is { } ended && ended < cutoff)
            .OrderBy(p => p.Value.EndedAt)
            .ToArray();
        foreach (var (callId, box) in candidates)
        {
            if (deleted >= maxCount)
            {
                break;
            }
            lock (box.Gate)
            {
                var take = Math.Min(box.Entries.Count, maxCount - deleted);
                box.Entries.RemoveRange(0, take);
                deleted += take;
                if (box.Entries.Count == 0)
                {
                    box.Removed = true;
                    _boxes.TryRemove(new KeyValuePair<string, Box>(callId, box));
                }
            }
        }
        return ValueTask.FromResult(deleted);
    }

    /// <summary>A call was created: its mailbox accepts entries for its sides (the ringing budget applies).</summary>
    internal void OpenCall(string callId)
    {
        var box = _boxes.GetOrAdd(callId, static _ => new Box(BoxState.Ringing));
        lock (box.Gate)
        {
            if (box.State == BoxState.Unknown)
            {
                box.State = BoxState.Ringing;
            }
        }
    }

    /// <summary>A call was accepted: the side budget applies from now on.</summary>
    internal void MarkCallAccepted(string callId) => SetState(callId, BoxState.Active, endedAt: null);

    /// <summary>A call ended: no more entries for its sides; <see cref="DeleteForCallsEndedBeforeAsync"/> counts from
    /// <paramref name="endedAt"/>.</summary>
    internal void MarkCallEnded(string callId, DateTimeOffset endedAt) => SetState(callId, BoxState.Ended, endedAt);

    private void SetState(string callId, BoxState state, DateTimeOffset? endedAt)
    {
        var box = _boxes.GetOrAdd(callId, static _ => new Box(BoxState.Unknown));
        lock (box.Gate)
        {
            if (box.State != BoxState.Ended)
            {
                box.State = state;
            }
            box.EndedAt ??= endedAt;
        }
    }

    /// <summary>Deletes a call's whole mailbox (the call itself was deleted).</summary>
    internal void DeleteCall(string callId)
    {
        if (_boxes.TryRemove(callId, out var box))
        {
            lock (box.Gate)
            {
                box.Removed = true;
                box.Entries.Clear();
            }
        }
    }

    private static int FirstAfter(List<Stored> entries, long afterSeq)
    {
        int lo = 0, hi = entries.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (entries[mid].Entry.Seq <= afterSeq)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private enum BoxState { Unknown, Ringing, Active, Ended }

    private readonly record struct Stored(MailboxEntry Entry, int Size);

    private sealed class Box(BoxState state)
    {
        public readonly Lock Gate = new();
        public readonly List<Stored> Entries = [];
        public long LastSeq;
        public long CallerPending;
        public long CalleePending;
        public BoxState State = state;
        public DateTimeOffset? EndedAt;
        public bool Removed;

        public ref long Pending(CallSide side) => ref side == CallSide.Caller ? ref CallerPending : ref CalleePending;
    }
}
