namespace QrCalling.Client.E2E;

/// <summary>The part a side plays in the key exchange. In a 1:1 call the caller is the <see cref="Initiator"/> and the
/// owner the <see cref="Responder"/>.</summary>
public enum E2ERole
{
    /// <summary>Commits first (sends only a hash of its key), and reveals its key after it received the other one.</summary>
    Initiator,

    /// <summary>Answers a commitment with its own public key, then checks the reveal against the commitment.</summary>
    Responder,
}
