namespace QrCalling.Client.E2E;

/// <summary>What a received key-exchange message did.</summary>
/// <param name="Reply">The message to send back as a <c>key-exchange</c> signal, or null.</param>
/// <param name="Established">True when this message completed a key exchange (a new <see cref="E2ESession.CheckCode"/>).</param>
/// <param name="Reset">True when it ended keys agreed before (a re-key): the client says the check code changed.</param>
public sealed record E2EReceiveResult(E2EMessage? Reply, bool Established, bool Reset);
