using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.E2E;

/// <summary>A relay between a caller's and an owner's <see cref="E2ESession"/> that plays a malicious server: every
/// key-exchange message passes through <see cref="KeyExchangeFilter"/>, which may change, drop or answer it. What each
/// side refused is recorded (the reason codes), so a test can tell a refusal from a silent success.</summary>
internal sealed class TamperingTransport : IDisposable
{
    public TamperingTransport(string callId = "call_tamper", string? callerFingerprint = null, string? ownerFingerprint = null)
    {
        Caller = new E2ESession(E2ERole.Initiator, callId, callerFingerprint);
        Owner = new E2ESession(E2ERole.Responder, callId, ownerFingerprint);
    }

    public E2ESession Caller { get; }

    public E2ESession Owner { get; }

    /// <summary>(to, message) → the messages actually delivered to <c>to</c>; identity by default.</summary>
    public Func<E2ESession, E2EMessage, IEnumerable<E2EMessage>> KeyExchangeFilter { get; set; } = (_, m) => [m];

    public List<string> Refusals { get; } = [];

    public List<E2EReceiveResult> Results { get; } = [];

    /// <summary>The caller commits; every reply is relayed (through the filter) until nothing is left to send.</summary>
    public void RunKeyExchange() => Send(Owner, Caller.Start());

    /// <summary>Relays one message from one side to the other (to: the receiving session), then their replies.</summary>
    public void Send(E2ESession to, E2EMessage message)
    {
        var pending = new Queue<(E2ESession To, E2EMessage Message)>();
        pending.Enqueue((to, message));
        while (pending.TryDequeue(out var next))
        {
            foreach (var delivered in KeyExchangeFilter(next.To, next.Message).ToList())
            {
                var reply = Deliver(next.To, delivered);
                if (reply is not null)
                {
                    pending.Enqueue((Other(next.To), reply));
                }
            }
        }
    }

    /// <summary>Hands a message to a session as JSON (as the wire would); null reply when refused.</summary>
    public E2EMessage? Deliver(E2ESession to, E2EMessage message)
    {
        try
        {
            var result = to.Receive(E2EMessage.Parse(message.ToJson()));
            Results.Add(result);
            return result.Reply;
        }
        catch (E2EProtocolException e)
        {
            Refusals.Add(e.Reason);
            return null;
        }
    }

    /// <summary>Decrypts at <paramref name="to"/>: the plaintext, or the refusal's reason (also recorded).</summary>
    public (E2EPlaintext? Plain, string? Refused) DeliverChat(E2ESession to, string ciphertext)
    {
        try
        {
            return (to.Decrypt(ciphertext), null);
        }
        catch (E2EProtocolException e)
        {
            Refusals.Add(e.Reason);
            return (null, e.Reason);
        }
    }

    public E2ESession Other(E2ESession session) => ReferenceEquals(session, Caller) ? Owner : Caller;

    public void Dispose()
    {
        Caller.Dispose();
        Owner.Dispose();
    }
}
