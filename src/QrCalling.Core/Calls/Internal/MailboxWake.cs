namespace QrCalling.Calls.Internal;

/// <summary>In-process wake-ups for long-polls: an append made through this instance completes the current task of its
/// call, so waiting readers re-read at once (appends made by another host instance are seen by polling).</summary>
internal sealed class MailboxWake
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    /// <summary>Starts watching a call; dispose to stop.</summary>
    public Subscription Subscribe(string callId)
    {
        lock (_gate)
        {
            if (!_slots.TryGetValue(callId, out var slot))
            {
                slot = new Slot();
                _slots[callId] = slot;
            }
            slot.Subscribers++;
            return new Subscription(this, callId, slot);
        }
    }

    /// <summary>Wakes every reader of a call.</summary>
    public void Notify(string callId)
    {
        TaskCompletionSource? woken = null;
        lock (_gate)
        {
            if (_slots.TryGetValue(callId, out var slot))
            {
                woken = slot.Source;
                slot.Source = NewSource();
            }
        }
        woken?.TrySetResult();
    }

    /// <summary>How many calls have readers waiting (for tests).</summary>
    internal int WatchedCalls
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Slot
    {
        public int Subscribers;
        public TaskCompletionSource Source = NewSource();
    }

    /// <summary>One reader's watch on a call.</summary>
    internal sealed class Subscription(MailboxWake owner, string callId, object slot) : IDisposable
    {
        private bool _disposed;

        /// <summary>A task that completes at the next append; take it before reading so no append is missed.</summary>
        public Task Next()
        {
            lock (owner._gate)
            {
                return ((Slot)slot).Source.Task;
            }
        }

        public void Dispose()
        {
            lock (owner._gate)
            {
                if (_disposed)
                {
                    return;
                }
                _disposed = true;
                var s = (Slot)slot;
                if (--s.Subscribers == 0)
                {
                    owner._slots.Remove(callId);
                }
            }
        }
    }
}
