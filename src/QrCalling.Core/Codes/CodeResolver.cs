namespace QrCalling.Codes;

/// <summary>Resolves a scanned payload to its stored code: parse (malformed/checksum), then look up each candidate key
/// hash (current pepper first, then previous ones). Unknown, revoked, expired and used-up codes all give the one
/// <see cref="QrCallingError.Unavailable"/> error. Shared by <see cref="CodeService"/> and <c>CallService</c>.</summary>
internal sealed class CodeResolver
{
    // Constructor: (IStorage storage, TokenHasher hasher, TimeProvider timeProvider, QrCallingMetrics metrics).

    /// <summary>Resolves a payload. With <paramref name="countScan"/> the scan is counted atomically against maxScans
    /// (<see cref="Storage.ICodeStore.TryCountScanAsync"/>); without it the code is only looked up and checked.</summary>
    public ValueTask<QrCallingResult<CodeRecord>> ResolveAsync(string? payload, bool countScan, CancellationToken cancellationToken) => throw new NotImplementedException();
}
