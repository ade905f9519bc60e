namespace QrCalling.Codes;

// CONTRACT SKELETON: bodies are filled in by the Core implementation; signatures are fixed.

/// <summary>The outcome of parsing a payload.</summary>
public enum PayloadStatus
{
    /// <summary>A valid payload.</summary>
    Ok,
    /// <summary>Not the format <c>pqc:1:&lt;token&gt;:&lt;checksum&gt;</c> (or non-canonical base32).</summary>
    Malformed,
    /// <summary>Format right, checksum wrong.</summary>
    Checksum,
}

/// <summary>A 256-bit code token (32 bytes from a CSPRNG).</summary>
public sealed class CodeToken : IEquatable<CodeToken>
{
    /// <summary>Token length in bytes.</summary>
    public const int Length = 32;

    private readonly byte[] _bytes;

    private CodeToken(byte[] bytes) => _bytes = bytes;

    /// <summary>The token's bytes (a copy is not made; do not mutate).</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    /// <summary>A fresh token from <see cref="System.Security.Cryptography.RandomNumberGenerator"/>.</summary>
    public static CodeToken New() => new(System.Security.Cryptography.RandomNumberGenerator.GetBytes(Length));

    /// <summary>Wraps 32 bytes (copied).</summary>
    public static CodeToken FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Length ? new(bytes.ToArray()) : throw new ArgumentException($"A token is {Length} bytes.", nameof(bytes));

    /// <inheritdoc />
    public bool Equals(CodeToken? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as CodeToken);
    /// <inheritdoc />
    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);
    /// <summary>Never prints the token.</summary>
    public override string ToString() => "CodeToken(redacted)";
}

/// <summary>The result of <see cref="CodePayload.Parse"/>.</summary>
/// <param name="Status">Ok, Malformed or Checksum.</param>
/// <param name="Token">The token when <paramref name="Status"/> is Ok; otherwise null.</param>
public readonly record struct PayloadParseResult(PayloadStatus Status, CodeToken? Token)
{
    /// <summary>True for a valid payload.</summary>
    public bool IsValid => Status == PayloadStatus.Ok;
}
