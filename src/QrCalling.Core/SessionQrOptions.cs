namespace QrCalling;

/// <summary>Options of signed session QR (<c>QrCalling:SessionQr</c>): the ECDSA P-256 signing key and older keys that
/// still verify. See docs/protocol.md, "Signed session QR (additive)", and docs/operations.md for rotation.</summary>
/// <remarks>Without a <see cref="SigningKey"/> signing is off (issuing answers <c>signing_unavailable</c>) unless
/// <see cref="EphemeralKey"/> is set, for development: a key generated at start-up, lost (with every QR it signed) at the
/// next start, and logged as a warning.</remarks>
public sealed class SessionQrOptions
{
    /// <summary>The key that signs new session QR: a file with an ECDSA P-256 private key, PKCS#8 (PEM <c>PRIVATE KEY</c>
    /// or <c>ENCRYPTED PRIVATE KEY</c>, or DER) or PKCS#12 (<c>.pfx</c>/<c>.p12</c>). Null: no signing key.</summary>
    public SessionQrKeyFile? SigningKey { get; set; }

    /// <summary>Older keys that still verify (rotation): QR signed by them keep verifying until they expire; remove a key
    /// to stop trusting what it signed. Each file may hold a private key (only its public half is used) or a public key
    /// (PEM <c>PUBLIC KEY</c> or SPKI DER).</summary>
    public IList<SessionQrKeyFile> PreviousKeys { get; } = new List<SessionQrKeyFile>();

    /// <summary>Development only: without <see cref="SigningKey"/>, sign with a key generated at start-up (a warning is
    /// logged). Default false.</summary>
    public bool EphemeralKey { get; set; }

    /// <summary>The longest lifetime a signed session QR may be issued for. Default 1 day; at most 30 days.</summary>
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Lifetime of a signed meet-now code issued without <c>expiresInSeconds</c>. Default 1 hour; at most
    /// <see cref="MaxLifetime"/>.</summary>
    public TimeSpan MeetLifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>A key file for <see cref="SessionQrOptions"/>.</summary>
public sealed class SessionQrKeyFile
{
    /// <summary>The file's path.</summary>
    public string? Path { get; set; }

    /// <summary>The password of a PKCS#12 file or an encrypted PKCS#8 key; null for none.</summary>
    public string? Password { get; set; }
}
