using System.Buffers.Text;
using System.Security.Cryptography;

namespace QrCalling.Calls;

/// <summary>Fresh random ids for calls and their participants: 128 bits from a CSPRNG each, so ids never repeat and two
/// calls cannot be linked through them.</summary>
internal static class CallIds
{
    /// <summary>A new call id, <c>call_</c> + 22 base64url characters.</summary>
    public static string NewCallId() => "call_" + Random128();

    /// <summary>A new anonymous participant id (callerId or calleeId) for one call, <c>p_</c> + 22 base64url characters.</summary>
    public static string NewParticipantId() => "p_" + Random128();

    private static string Random128()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Base64Url.EncodeToString(bytes);
    }
}

/// <summary>In-process wake-ups for long-polls: an append made through this instance completes the current task of its
/// call, so waiting readers re-read at once (appends made by another host instance are seen by polling).</summary>
internal sealed class MailboxSignals
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
    internal sealed class Subscription(MailboxSignals owner, string callId, object slot) : IDisposable
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
