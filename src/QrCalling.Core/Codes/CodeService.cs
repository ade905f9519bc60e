namespace QrCalling.Codes;

/// <summary>What an owner asks for when issuing a code.</summary>
public sealed record CodeSpec
{
    /// <summary>Label shown to scanners; trimmed; at most <see cref="QrCallingOptions.MaxLabelLength"/> characters.</summary>
    public string? Label { get; init; }
    /// <summary>Allowed media; null for all.</summary>
    public MediaKind? Media { get; init; }
    /// <summary>Lifetime in seconds; null for <see cref="QrCallingOptions.DefaultCodeLifetime"/>.</summary>
    public long? ExpiresInSeconds { get; init; }
    /// <summary>Scan limit (1 or more); null for unlimited.</summary>
    public int? MaxScans { get; init; }
}

/// <summary>A newly issued code with its payload; the payload is shown here only and never stored.</summary>
/// <param name="Code">The stored record.</param>
/// <param name="Payload">The payload, UPPER case.</param>
public sealed record IssuedCode(CodeRecord Code, string Payload);

/// <summary>What a scanner learns about a code: label and media, nothing else.</summary>
/// <param name="Label">The label.</param>
/// <param name="Media">Allowed media.</param>
public sealed record CodeInfo(string Label, MediaKind Media);

/// <summary>The code lifecycle: issue, list, revoke, rotate, scan. Bad input is a typed result, never an exception.</summary>
public sealed class CodeService
{
    // Constructor and bodies: see the Core implementation. Dependencies: IStorage, TokenHasher, CallService,
    // IOptions<QrCallingOptions>, TimeProvider, ILogger<CodeService>, QrCallingMetrics (internal).

    /// <summary>Issues a code for an owner. Errors: invalid_request (label too long, bad media, lifetime out of range,
    /// maxScans &lt; 1).</summary>
    public ValueTask<QrCallingResult<IssuedCode>> IssueAsync(string ownerId, CodeSpec spec, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>An owner's codes, newest first.</summary>
    public IAsyncEnumerable<CodeRecord> ListAsync(string ownerId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Revokes an owner's code and ends its open calls with <c>revoked</c>. Error: not_found (unknown, another
    /// owner's, or already revoked).</summary>
    public ValueTask<QrCallingResult<bool>> RevokeAsync(string ownerId, string codeId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>Revokes a code and issues a new one with the same label, media, remaining lifetime policy and maxScans.
    /// Error: not_found.</summary>
    public ValueTask<QrCallingResult<IssuedCode>> RotateAsync(string ownerId, string codeId, CancellationToken cancellationToken) => throw new NotImplementedException();

    /// <summary>What a scanner sees: label and media. Does not count against maxScans (starting a call does).
    /// Errors: malformed, checksum, unavailable.</summary>
    public ValueTask<QrCallingResult<CodeInfo>> ScanAsync(string? payload, CancellationToken cancellationToken) => throw new NotImplementedException();
}
