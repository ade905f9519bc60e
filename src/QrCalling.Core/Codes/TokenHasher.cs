using Microsoft.Extensions.Options;

namespace QrCalling.Codes;

/// <summary>Computes the at-rest keys of tokens: <c>HMAC-SHA256(pepper, tokenBytes)</c>, or SHA-256 without a pepper.</summary>
public sealed class TokenHasher
{
    /// <summary>Creates the hasher from the options' <see cref="QrCallingOptions.Pepper"/> and previous peppers.</summary>
    public TokenHasher(IOptions<QrCallingOptions> options) => throw new NotImplementedException();

    /// <summary>The key under the current pepper (32 bytes).</summary>
    public byte[] Hash(ReadOnlySpan<byte> secret) => throw new NotImplementedException();

    /// <summary>The key under the current pepper, then under each previous pepper, in order.</summary>
    public IReadOnlyList<byte[]> CandidateHashes(ReadOnlySpan<byte> secret) => throw new NotImplementedException();
}
