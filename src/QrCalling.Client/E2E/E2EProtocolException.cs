namespace QrCalling.Client.E2E;

/// <summary>A key-exchange message or a chat message was refused. <see cref="Reason"/> is a stable code:
/// <c>malformed</c>, <c>unexpected</c> (not what this side's state expects, e.g. a reflected message), <c>bad-key</c>,
/// <c>commit-mismatch</c>, <c>no-session</c>, <c>version</c>, <c>direction</c>, <c>replay</c> (a counter not above the
/// last one accepted: a replayed or reordered message) or <c>authentication</c> (AES-GCM refused it: altered, or
/// under another key). The message never holds key material, plaintext or ciphertext.</summary>
public sealed class E2EProtocolException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="reason">The stable code.</param>
    /// <param name="message">What was refused, in words.</param>
    public E2EProtocolException(string reason, string message)
        : base($"{reason}: {message}")
    {
        Reason = reason;
    }

    /// <summary>The stable code of the refusal.</summary>
    public string Reason { get; }
}
