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

    public CodeResolver(IStorage storage, TokenHasher hasher, TimeProvider timeProvider, QrCallingMetrics metrics)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _timeProvider = timeProvider ?? throw new ArgumentNullException(nameof(timeProvider));
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
    }

    /// <summary>Resolves a payload. With <paramref name="countScan"/> the scan is counted atomically against maxScans
    /// (<see cref="Storage.ICodeStore.TryCountScanAsync"/>); without it the code is only looked up and checked.
    /// Records the scan outcome (ok, malformed, checksum, unavailable) in the <c>qrcalling.scans</c> counter.</summary>
    public async ValueTask<QrCallingResult<CodeRecord>> ResolveAsync(string? payload, bool countScan, CancellationToken cancellationToken)
    {
        var parsed = CodePayload.Parse(payload);
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
        for (var i = 0; i < _hasher.CandidateCount; i++)
        {
            var key = _hasher.Hash(token.Bytes, i);
            CodeRecord? code;
            if (countScan)
            {
                code = await _storage.Codes.TryCountScanAsync(key, now, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                code = await _storage.Codes.FindByKeyAsync(key, cancellationToken).ConfigureAwait(false);
                if (code is not null && !code.IsAvailable(now))
                {
                    // A key hash belongs to one code; an unavailable one under this key ends the search.
                    break;
                }
            }
            if (code is not null)
            {
                _metrics.Scan(ScanOutcomes.Ok);
                return code;
            }
        }
        _metrics.Scan(ScanOutcomes.Unavailable);
        return QrCallingError.Unavailable;
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
