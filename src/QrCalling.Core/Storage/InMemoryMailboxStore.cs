using System.Collections.Concurrent;
using QrCalling.Calls;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IMailboxStore"/>. Each call's mailbox has its own lock, so appends to one call are
/// serialized (gap-free seqs) while calls do not contend. The call store tells it when a call ended
/// (<see cref="MarkCallEnded"/>) and when a call was deleted (<see cref="DeleteCall"/>).</summary>
internal sealed class InMemoryMailboxStore : IMailboxStore
{
    private readonly ConcurrentDictionary<string, Box> _boxes = new(StringComparer.Ordinal);

    public ValueTask<long> AppendAsync(string callId, MailboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        ArgumentNullException.ThrowIfNull(entry);
        cancellationToken.ThrowIfCancellationRequested();
        while (true)
        {
            var box = _boxes.GetOrAdd(callId, static _ => new Box());
            lock (box.Gate)
            {
                if (box.Removed)
                {
                    continue; // deleted concurrently: start a fresh mailbox
                }
                var seq = ++box.LastSeq;
                box.Entries.Add(entry with { Seq = seq });
                return ValueTask.FromResult(seq);
            }
        }
    }

    public ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, long afterSeq, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        cancellationToken.ThrowIfCancellationRequested();
        if (maxCount <= 0 || !_boxes.TryGetValue(callId, out var box))
        {
            return ValueTask.FromResult<IReadOnlyList<MailboxEntry>>([]);
        }
        lock (box.Gate)
        {
            // Entries are in seq order; deleted entries only ever go from the front.
            var result = box.Entries.Where(e => e.Seq > afterSeq).Take(maxCount).ToArray();
            return ValueTask.FromResult<IReadOnlyList<MailboxEntry>>(result);
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

    /// <summary>Records when a call ended, for <see cref="DeleteForCallsEndedBeforeAsync"/>.</summary>
    internal void MarkCallEnded(string callId, DateTimeOffset endedAt)
    {
        var box = _boxes.GetOrAdd(callId, static _ => new Box());
        lock (box.Gate)
        {
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

    private sealed class Box
    {
        public readonly Lock Gate = new();
        public readonly List<MailboxEntry> Entries = [];
        public long LastSeq;
        public DateTimeOffset? EndedAt;
        public bool Removed;
    }
}
