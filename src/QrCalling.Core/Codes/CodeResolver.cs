using QrCalling.Diagnostics;
using QrCalling.Storage;

namespace QrCalling.Codes;

/// <summary>Resolves a scanned payload to its stored code: parse (malformed/checksum), then look up each candidate key
/// hash (current pepper first, then previous ones). Unknown, revoked, expired and used-up codes all give the one
/// <see cref="QrCallingError.Unavailable"/> error. Shared by <see cref="CodeService"/> and <c>CallService</c>.</summary>
internal sealed class CodeResolver
{
    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly TimeProvider _timeProvider;
    private readonly QrCallingMetrics _metrics;
    private readonly ISessionQrSigner? _sessionQr;

    public CodeResolver(IStorage storage, TokenHasher hasher, TimeProvider timeProvider, QrCallingMetrics metrics, CallerControlService controls,
        ISessionQrSigner? sessionQr = null)
    {
        _sessionQr = sessionQr;
        Controls = controls ?? throw new ArgumentNullException(nameof(controls));
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>Resolves a payload. With <paramref name="countScan"/> the scan is counted atomically against maxScans
    /// (<see cref="Storage.ICodeStore.TryCountScanAsync"/>); without it the code is only looked up and checked.
    /// Records the scan outcome (ok, malformed, checksum, unavailable) in the <c>qrcalling.scans</c> counter.</summary>
    public ValueTask<QrCallingResult<CodeRecord>> ResolveAsync(string? payload, bool countScan, CancellationToken cancellationToken) =>
        ResolveAsync(payload, countScan, MediaKind.None, cancellationToken);

    /// <summary>The owner's controls over callers (blocks, quiet hours, chat-only), checked on every resolve.</summary>
    public CallerControlService Controls { get; }

    /// <summary>Resolves a payload for a caller who wants <paramref name="media"/>: an available code that does not allow
    /// it gives invalid_request, checked before the scan is counted, so a wrong choice never spends a scan of a
    /// limited code. Availability is checked first, so the answer for unavailable codes stays the one
    /// <see cref="QrCallingError.Unavailable"/>.</summary>
    public ValueTask<QrCallingResult<CodeRecord>> ResolveAsync(string? payload, bool countScan, MediaKind media, CancellationToken cancellationToken) =>
        ResolveAsync(payload, countScan, media, callerKey: null, cancellationToken);

    /// <summary>As <see cref="ResolveAsync(string?, bool, MediaKind, CancellationToken)"/>, for a caller whose browser sent
    /// <paramref name="callerKey"/>: a caller the owner blocked on the code gets <see cref="QrCallingError.Unavailable"/>,
    /// exactly as for a dead code (checked before anything else about the code), and a media the code's policy holds back
    /// now gives quiet_hours or chat_only; both before the scan is counted.</summary>
    /// <remarks>With <paramref name="countScan"/>, a given <c>count</c> counts the scan of the found code (given with its
    /// key hash) in place of <see cref="Storage.ICodeStore.TryCountScanAsync"/>, e.g. together with storing a call
    /// (<see cref="IStorage.TryStartCallAsync"/>); it returns the counted code, or null when the code is unavailable.</remarks>
    public async ValueTask<QrCallingResult<CodeRecord>> ResolveAsync(string? payload, bool countScan, MediaKind media, byte[]? callerKey, CancellationToken cancellationToken,
        Func<CodeRecord, byte[], ValueTask<CodeRecord?>>? count = null)
    {
        var resolved = await ResolveWithPolicyAsync(payload, countScan, media, callerKey, cancellationToken, count).ConfigureAwait(false);
        return resolved.IsSuccess ? resolved.Value.Code : resolved.Error!;
    }

    /// <summary>As <see cref="ResolveAsync(string?, bool, MediaKind, byte[], CancellationToken, Func{CodeRecord, byte[], ValueTask{CodeRecord}})"/>,
    /// and gives the code's caller policy as read with the code (<see cref="IStorage.FindCodeWithControlsAsync"/>: one
    /// read where the store can), so that a scan can say what the owner allows without reading it again.</summary>
    public async ValueTask<QrCallingResult<ResolvedCode>> ResolveWithPolicyAsync(string? payload, bool countScan, MediaKind media, byte[]? callerKey,
        CancellationToken cancellationToken, Func<CodeRecord, byte[], ValueTask<CodeRecord?>>? count = null)
    {
        var parsed = ParseAny(payload, out var signedRefused);
        if (signedRefused)
        {
            _metrics.Scan(ScanOutcomes.Unavailable);
            return QrCallingError.Unavailable;
        }
        switch (parsed.Status)
        {
            case PayloadStatus.Malformed:
                _metrics.Scan(ScanOutcomes.Malformed);
                return QrCallingError.Malformed;
            case PayloadStatus.Checksum:
                _metrics.Scan(ScanOutcomes.Checksum);
                return QrCallingError.Checksum;
        }

        var token = parsed.Token!;
        var now = _timeProvider.GetUtcNow();
        CodeWithControls? found = null;
        byte[]? foundKey = null;
        for (var i = 0; i < _hasher.CandidateCount; i++)
        {
            var key = _hasher.Hash(token.Bytes, i);
            var lookup = await _storage.FindCodeWithControlsAsync(key, cancellationToken).ConfigureAwait(false);
            if (lookup is not null && lookup.Code.IsAvailable(now))
            {
                found = lookup;
                foundKey = key;
                break;
            }
            // An unknown key and an unavailable code both go on to the next candidate, so revoked, expired and used-up
            // codes cost the same look-ups as unknown ones (no timing difference between the four).
        }
        var policy = found?.Policy ?? CallPolicy.None;
        if (found is not null)
        {
            // The blocks are asked about only when the caller sent its key and the code may have blocks.
            var admission = callerKey is not null && found.AnyBlocks
                ? await Controls.AdmissionAsync(found.Code, callerKey, cancellationToken).ConfigureAwait(false)
                : new CallerAdmission(found.Policy, Blocked: false);
            policy = admission.Policy;
            if (Controls.Admit(found.Code, media, admission, now) is { } refusal)
            {
                if (refusal.Code != QrCallingErrorCodes.Unavailable)
                {
                    return refusal;
                }
                found = null; // blocked: answered below exactly as a dead code
            }
        }
        var code = found?.Code;
        if (code is not null && media != MediaKind.None && (code.Media & media) == 0)
        {
            return QrCallingError.InvalidRequest("This code does not accept this media.");
        }
        if (code is not null && countScan)
        {
            // The atomic count re-checks availability: a code used up or revoked since the look-up is unavailable.
            code = count is null
                ? await _storage.Codes.TryCountScanAsync(foundKey!, now, cancellationToken).ConfigureAwait(false)
                : await count(code, foundKey!).ConfigureAwait(false);
        }
        if (code is null)
        {
            _metrics.Scan(ScanOutcomes.Unavailable);
            return QrCallingError.Unavailable;
        }
        _metrics.Scan(ScanOutcomes.Ok);
        return new ResolvedCode(code, policy);
    }

    /// <summary>A code payload, or a signed meet-now QR of this host standing for one (its signature and expiry checked
    /// here, the code's own state below): <paramref name="signedRefused"/> for a signed QR that does not verify.</summary>
    private PayloadParseResult ParseAny(string? payload, out bool signedRefused) =>
        CodePayload.Parse(SignedMeetCodes.ToCodePayload(_sessionQr, payload, out signedRefused) ?? payload);
}

/// <summary>A resolved code and its caller policy, read together.</summary>
internal sealed record ResolvedCode(CodeRecord Code, CallPolicy Policy);

/// <summary>Signed meet-now codes: a verified <c>PQS:1:MEET:…</c> stands for its code's <c>PQC:1:</c> payload.</summary>
internal static class SignedMeetCodes
{
    /// <summary>The <c>PQC:1:</c> payload a signed meet-now QR (<c>PQS:1:MEET:…</c>) stands for, when
    /// <paramref name="signer"/> verifies it now; null when the text is not a signed session QR at all (then
    /// <paramref name="refused"/> is false) or does not verify, has expired, or is not a meet code (<paramref name="refused"/>
    /// true: answered as an unavailable code).</summary>
    public static string? ToCodePayload(ISessionQrSigner? signer, string? text, out bool refused)
    {
        refused = false;
        if (signer is null || text is null || !LooksSigned(text))
        {
            return null;
        }
        var verification = signer.Verify(text);
        if (verification.Status == SessionQrStatus.Malformed)
        {
            return null; // answered malformed by the code parser
        }
        var codePayload = verification.IsValid ? verification.Qr!.ToCodePayload() : null;
        refused = codePayload is null;
        return codePayload;
    }

    private static bool LooksSigned(string text)
    {
        var span = text.AsSpan().Trim();
        var hash = span.LastIndexOf('#');
        if (hash >= 0)
        {
            span = span[(hash + 1)..].TrimStart();
        }
        return span.StartsWith("PQS:", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Values of the <c>outcome</c> tag of <see cref="QrCallingDiagnostics.Scans"/>.</summary>
internal static class ScanOutcomes
{
    public const string Ok = "ok";
    public const string Malformed = "malformed";
    public const string Checksum = "checksum";
    public const string Unavailable = "unavailable";
}
