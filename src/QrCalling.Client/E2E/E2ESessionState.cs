namespace QrCalling.Client.E2E;

/// <summary>Where a side's key exchange stands.</summary>
public enum E2ESessionState
{
    /// <summary>Nothing agreed yet: a responder waits for a commitment.</summary>
    Idle,

    /// <summary>An initiator sent its commitment and waits for the responder's key.</summary>
    AwaitingKey,

    /// <summary>A responder sent its key and waits for the initiator's reveal.</summary>
    AwaitingReveal,

    /// <summary>Keys agreed: chat can be encrypted and decrypted, and <see cref="E2ESession.CheckCode"/> is set.</summary>
    Established,

    /// <summary>The reveal did not match the commitment: no keys; only a new key exchange leaves this state.</summary>
    Failed,
}
