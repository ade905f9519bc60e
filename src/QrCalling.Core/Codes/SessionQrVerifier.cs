using System.Security.Cryptography;

namespace QrCalling.Codes;

/// <summary>The outcome of verifying a signed session QR.</summary>
public enum SessionQrStatus
{
    /// <summary>Signed by one of the given keys and not expired.</summary>
    Valid,
    /// <summary>Not a signed session QR (<c>PQS:1:…</c>) at all, or a part has the wrong shape.</summary>
    Malformed,
    /// <summary>Its key id is none of the given keys: a foreign host's QR, or one signed by a key since removed.</summary>
    UnknownKey,
    /// <summary>The signature does not match: the QR was changed (or forged).</summary>
    BadSignature,
    /// <summary>Correctly signed, but its expiry has passed.</summary>
    Expired,
}

/// <summary>The result of <see cref="SessionQrVerifier.Verify"/>.</summary>
/// <param name="Status">Why it is (in)valid.</param>
/// <param name="Qr">The parsed parts: set unless <paramref name="Status"/> is <see cref="SessionQrStatus.Malformed"/>. Only
/// trust them when <see cref="IsValid"/>.</param>
/// <param name="Error">For a malformed text, what is wrong with it (never the text itself).</param>
public readonly record struct SessionQrVerification(SessionQrStatus Status, SessionQr? Qr, string? Error = null)
{
    /// <summary>True when signed by a given key and not expired.</summary>
    public bool IsValid => Status == SessionQrStatus.Valid;
}

/// <summary>Verifies signed session QR offline with public keys only (no server): the same check as
/// <c>POST /api/v1/verify-qr</c>. Get the host's keys from <c>GET /api/v1/verify-qr/keys</c> (or its operator) and
/// keep them; see docs/protocol.md, "Signed session QR (additive)".</summary>
public static class SessionQrVerifier
{
    /// <summary>Verifies a payload or its link form against <paramref name="keys"/> at <paramref name="now"/>: the key id
    /// picks the key, the ECDSA P-256 signature (SHA-256, IEEE P1363) must match the canonical bytes, and
    /// <paramref name="now"/> must be before the expiry. Never throws for any text.</summary>
    /// <param name="payloadOrLink">The scanned text.</param>
    /// <param name="keys">The issuer's verification keys (current and still-trusted older ones).</param>
    /// <param name="now">The current time.</param>
    public static SessionQrVerification Verify(string? payloadOrLink, IEnumerable<SessionQrPublicKey> keys, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (!SessionQrPayload.TryParse(payloadOrLink, out var qr, out var signature, out var error))
        {
            return new(SessionQrStatus.Malformed, null, error);
        }
        var key = keys.FirstOrDefault(k => k.KeyId == qr!.KeyId);
        if (key is null)
        {
            return new(SessionQrStatus.UnknownKey, qr);
        }
        using var ecdsa = key.CreateVerifier();
        return VerifyWith(qr!, signature!, ecdsa, now);
    }

    internal static SessionQrVerification VerifyWith(SessionQr qr, byte[] signature, ECDsa key, DateTimeOffset now)
    {
        var valid = key.VerifyData(SessionQrPayload.SignedBytes(qr.Payload), signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        if (!valid)
        {
            return new(SessionQrStatus.BadSignature, qr);
        }
        return now < qr.ExpiresAt ? new(SessionQrStatus.Valid, qr) : new(SessionQrStatus.Expired, qr);
    }
}
