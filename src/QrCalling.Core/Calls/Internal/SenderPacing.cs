namespace QrCalling.Calls.Internal;

/// <summary>Back-pressure for senders whose recipient acknowledges but lags: a relay that leaves the recipient's window
/// more than half full answers its sender only once the recipient acknowledges again (or after
/// <see cref="MaxWait"/>), so a client that keeps a few signals in flight slows to the pace of its recipient instead of
/// running into <c>mailbox_full</c>. The append is already made when the sender waits: pacing delays, it never refuses.</summary>
/// <remarks>
/// <para>Only recipients that acknowledged through this instance are paced for (a v1 client that never acknowledges would
/// make every wait run to its end; its window is trimmed by the settle rule instead), and acknowledgements are seen on
/// this instance only: behind a backplane, a sender whose recipient acknowledges through another instance waits at most
/// <see cref="MaxWait"/>.</para>
/// <para>A hub connection runs its invocations one at a time, so a waiting sender's own acknowledgements queue behind
/// its wait. Two sides that paced for each other at once could each wait for an acknowledgement queued behind the other's
/// wait: the second of them therefore waits at most <see cref="MutualMaxWait"/>, so its queue moves on, its
/// acknowledgement is processed and the first wait ends. When both recipients really have stopped reading, both
/// senders still slow down (the second one less).</para>
/// </remarks>
internal sealed class SenderPacing(TimeProvider time)
{
    /// <summary>The longest a sender waits for its recipient's next acknowledgement.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest a sender waits while the other side is itself waiting for this sender's acknowledgements.</summary>
    public static readonly TimeSpan MutualMaxWait = TimeSpan.FromMilliseconds(10);

    /// <summary>Recipients forgotten after this long without an acknowledgement (their call ended or moved).</summary>
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(2);

    private readonly Lock _gate = new();
    private readonly Dictionary<(string CallId, CallSide Side), Recipient> _recipients = [];
    private long _nextPrune;

    /// <summary>How many recipients are tracked (for tests).</summary>
    internal int Tracked
    {
        get
        {
            lock (_gate)
            {
                return _recipients.Count;
            }
        }
    }

    /// <summary>A side acknowledged entries of a call: wakes the senders waiting for it.</summary>
    public void Acknowledged(string callId, CallSide side)
    {
        TaskCompletionSource? woken;
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (!_recipients.TryGetValue((callId, side), out var recipient))
            {
                PruneIfDue(now);
                recipient = new Recipient();
                _recipients[(callId, side)] = recipient;
            }
            recipient.LastAck = now;
            woken = recipient.Next;
            recipient.Next = null;
        }
        woken?.TrySetResult();
    }

    /// <summary>A call ended: forget both its sides.</summary>
    public void Forget(string callId)
    {
        TaskCompletionSource? a = null, b = null;
        lock (_gate)
        {
            if (_recipients.Remove((callId, CallSide.Caller), out var caller))
            {
                a = caller.Next;
            }
            if (_recipients.Remove((callId, CallSide.Callee), out var callee))
            {
                b = callee.Next;
            }
        }
        a?.TrySetResult();
        b?.TrySetResult();
    }

    /// <summary>Waits until <paramref name="recipient"/> acknowledges again, if it is a side that acknowledges through
    /// this instance: at most <see cref="MaxWait"/>, or <see cref="MutualMaxWait"/> while the recipient is itself waiting
    /// for this sender's acknowledgements (see the remarks). Returns whether it waited.</summary>
    public async ValueTask<bool> WaitForAcknowledgementAsync(string callId, CallSide recipient, CancellationToken cancellationToken)
    {
        Task next;
        TimeSpan maxWait;
        var sender = recipient == CallSide.Caller ? CallSide.Callee : CallSide.Caller;
        lock (_gate)
        {
            if (!_recipients.TryGetValue((callId, recipient), out var tracked))
            {
                return false;
            }
            maxWait = _recipients.TryGetValue((callId, sender), out var other) && other.Waiters > 0 ? MutualMaxWait : MaxWait;
            tracked.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            tracked.Waiters++;
            next = tracked.Next.Task;
        }
        try
        {
            using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(maxWait, time, delayCancel.Token);
            await Task.WhenAny(next, delay).ConfigureAwait(false);
            await delayCancel.CancelAsync().ConfigureAwait(false);
            return true;
        }
        finally
        {
            lock (_gate)
            {
                if (_recipients.TryGetValue((callId, recipient), out var tracked))
                {
                    tracked.Waiters--;
                }
            }
        }
    }

    private void PruneIfDue(long now)
    {
        if (now < _nextPrune)
        {
            return;
        }
        _nextPrune = now + (long)(Idle.TotalSeconds * time.TimestampFrequency);
        List<(string, CallSide)>? idle = null;
        foreach (var (key, recipient) in _recipients)
        {
            if (recipient.Waiters == 0 && time.GetElapsedTime(recipient.LastAck, now) > Idle)
            {
                (idle ??= []).Add(key);
            }
        }
        foreach (var key in idle ?? [])
        {
            _recipients.Remove(key);
        }
    }

    private sealed class Recipient
    {
        public long LastAck;
        public int Waiters;
        public TaskCompletionSource? Next;
    }
}
