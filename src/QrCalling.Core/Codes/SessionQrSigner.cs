using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace QrCalling.Codes;

/// <summary>Issues and verifies this host's signed session QR (<c>PQS:1:…</c>) with the keys of
/// <see cref="QrCallingOptions.SessionQr"/>. Registered by <c>AddQrCallingCore</c>; rooms and meet-now codes call
/// <see cref="Sign"/>.</summary>
public interface ISessionQrSigner
{
    /// <summary>True when a signing key is configured (or an ephemeral one was allowed).</summary>
    bool CanSign { get; }

    /// <summary>The keys this host verifies with, the signing key first: what clients need to verify offline.</summary>
    IReadOnlyList<SessionQrPublicKey> VerificationKeys { get; }

    /// <summary>Signs a session QR for <paramref name="subject"/> until <paramref name="expiresAt"/> (whole seconds,
    /// rounded down). Fails with <c>signing_unavailable</c> without a signing key, and with <c>invalid_request</c> for a
    /// kind that is not 1 to 16 letters, a subject that is not 1 to 128 of <c>A-Z 0-9 -</c> (either case; it is
    /// upper-cased), or an expiry not in the future or beyond <see cref="SessionQrOptions.MaxLifetime"/>.</summary>
    /// <param name="kind">E.g. <see cref="SessionQrKinds.Room"/> or <see cref="SessionQrKinds.Meet"/>.</param>
    /// <param name="subject">A room id or a code's token, never an owner id.</param>
    /// <param name="expiresAt">When it stops verifying.</param>
    QrCallingResult<SessionQr> Sign(string kind, string subject, DateTimeOffset expiresAt);

    /// <summary>Verifies a payload or link against <see cref="VerificationKeys"/> now (the host's <see cref="TimeProvider"/>).</summary>
    SessionQrVerification Verify(string? payloadOrLink);
}

/// <summary>The keys of <see cref="SessionQrOptions"/>, loaded once (start-up validation has loaded them before).</summary>
internal sealed class SessionQrKeyRing : ISessionQrSigner, IDisposable
{
    private readonly ECDsa? _signingKey;
    private readonly string? _signingKeyId;
    private readonly Dictionary<string, ECDsa> _verifiers = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _maxLifetime;

    public SessionQrKeyRing(IOptions<QrCallingOptions> options, TimeProvider time, ILogger<SessionQrKeyRing> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _time = time ?? throw new ArgumentNullException(nameof(time));
        var o = options.Value.SessionQr;
        _maxLifetime = o.MaxLifetime;
        var keys = new List<SessionQrPublicKey>();
        if (o.SigningKey is { Path: { } path } file)
        {
            _signingKey = SessionQrKeyLoader.Load(path, file.Password, requirePrivate: true);
        }
        else if (o.EphemeralKey)
        {
            _signingKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        }
        if (_signingKey is not null)
        {
            var pub = SessionQrPublicKey.FromKey(_signingKey);
            _signingKeyId = pub.KeyId;
            keys.Add(pub);
            _verifiers[pub.KeyId] = _signingKey;
            if (o.SigningKey is null)
            {
                Log.SessionQrEphemeralKey(logger, pub.KeyId);
            }
        }
        foreach (var previous in o.PreviousKeys)
        {
            var key = SessionQrKeyLoader.Load(previous.Path!, previous.Password, requirePrivate: false);
            var pub = SessionQrPublicKey.FromKey(key);
            if (!_verifiers.TryAdd(pub.KeyId, key))
            {
                key.Dispose(); // the validator refuses duplicates; tolerate them here
                continue;
            }
            keys.Add(pub);
        }
        VerificationKeys = keys;
    }

    public bool CanSign => _signingKey is not null;

    public IReadOnlyList<SessionQrPublicKey> VerificationKeys { get; }

    public QrCallingResult<SessionQr> Sign(string kind, string subject, DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(kind);
        ArgumentNullException.ThrowIfNull(subject);
        if (_signingKey is null)
        {
            return SigningUnavailable;
        }
        kind = kind.ToUpperInvariant();
        subject = subject.ToUpperInvariant();
        if (!SessionQrPayload.IsKind(kind))
        {
            return QrCallingError.InvalidRequest($"A session QR kind is 1 to {SessionQrPayload.MaxKindLength} letters A-Z.");
        }
        if (!SessionQrPayload.IsSubject(subject))
        {
            return QrCallingError.InvalidRequest($"A session QR subject is 1 to {SessionQrPayload.MaxSubjectLength} characters A-Z, 0-9 or '-'.");
        }
        var now = _time.GetUtcNow();
        var expiry = DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds());
        if (expiry <= now || expiry > now + _maxLifetime)
        {
            return QrCallingError.InvalidRequest($"A session QR expires in the future and within {_maxLifetime}.");
        }
        var head = SessionQrPayload.Head(kind, _signingKeyId!, expiry, subject);
        var signature = _signingKey.SignData(SessionQrPayload.SignedBytes(head), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return new SessionQr(kind, _signingKeyId!, expiry, subject, SessionQrPayload.WithSignature(head, signature));
    }

    public SessionQrVerification Verify(string? payloadOrLink)
    {
        if (!SessionQrPayload.TryParse(payloadOrLink, out var qr, out var signature, out var error))
        {
            return new(SessionQrStatus.Malformed, null, error);
        }
        return _verifiers.TryGetValue(qr!.KeyId, out var key)
            ? SessionQrVerifier.VerifyWith(qr, signature!, key, _time.GetUtcNow())
            : new(SessionQrStatus.UnknownKey, qr);
    }

    /// <summary>The error when no signing key is configured.</summary>
    public static QrCallingError SigningUnavailable { get; } = new(QrCallingErrorCodes.SigningUnavailable,
        "This host has no key to sign session QR codes (QrCalling:SessionQr:SigningKey).");

    public void Dispose()
    {
        foreach (var key in _verifiers.Values)
        {
            key.Dispose();
        }
    }
}

/// <summary>Checks <see cref="QrCallingOptions.SessionQr"/> at start-up by loading every key, with messages that name the
/// configuration key: unreadable file, unknown format, wrong password, wrong curve, no private key, duplicate key id.</summary>
internal sealed class SessionQrOptionsValidator : IValidateOptions<QrCallingOptions>
{
    private const string Section = QrCallingOptions.SectionName + ":" + nameof(QrCallingOptions.SessionQr);

    public ValidateOptionsResult Validate(string? name, QrCallingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.SessionQr;
        var failures = new List<string>();
        if (o.MaxLifetime <= TimeSpan.Zero || o.MaxLifetime > TimeSpan.FromDays(30))
        {
            failures.Add($"{Section}:{nameof(SessionQrOptions.MaxLifetime)} must be positive and at most 30 days.");
        }
        if (o.MeetLifetime <= TimeSpan.Zero || o.MeetLifetime > o.MaxLifetime)
        {
            failures.Add($"{Section}:{nameof(SessionQrOptions.MeetLifetime)} must be positive and at most {nameof(SessionQrOptions.MaxLifetime)} ({o.MaxLifetime}).");
        }
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        if (o.SigningKey is not null)
        {
            Check(o.SigningKey, $"{Section}:{nameof(SessionQrOptions.SigningKey)}", requirePrivate: true, seen, failures);
        }
        for (var i = 0; i < o.PreviousKeys.Count; i++)
        {
            Check(o.PreviousKeys[i], $"{Section}:{nameof(SessionQrOptions.PreviousKeys)}:{i}", requirePrivate: false, seen, failures);
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(SessionQrKeyFile? file, string key, bool requirePrivate, Dictionary<string, string> seen, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(file?.Path))
        {
            failures.Add($"{key}:Path is required.");
            return;
        }
        try
        {
            using var ecdsa = SessionQrKeyLoader.Load(file.Path, file.Password, requirePrivate);
            var id = SessionQrPublicKey.FromKey(ecdsa).KeyId;
            if (!seen.TryAdd(id, key))
            {
                failures.Add($"{key}:Path holds the same key (key id {id}) as {seen[id]}; list each key once.");
            }
        }
        catch (SessionQrKeyException ex)
        {
            failures.Add($"{key}:Path ('{file.Path}') {ex.Message}");
        }
    }
}
