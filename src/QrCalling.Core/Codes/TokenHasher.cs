using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QrCalling.Codes;

/// <summary>Computes the at-rest keys of tokens: <c>HMAC-SHA256(pepper, tokenBytes)</c>, or SHA-256 without a pepper.</summary>
internal sealed class TokenHasher
{
    // Key of the current pepper (null: plain SHA-256), then the previous peppers' keys in order.
    private readonly byte[]?[] _keys;

    // One keyed HMAC per thread and pepper, reused: creating an HMAC context costs several times the hash itself.
    private readonly ThreadLocal<IncrementalHash?[]> _hmacs;

    /// <summary>Creates the hasher from the options' <see cref="QrCallingOptions.Pepper"/> and previous peppers.</summary>
    public TokenHasher(IOptions<QrCallingOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var keys = new List<byte[]?> { value.Pepper is null ? null : Encoding.UTF8.GetBytes(value.Pepper) };
        foreach (var previous in value.PreviousPeppers)
        {
            keys.Add(Encoding.UTF8.GetBytes(previous));
        }
        _keys = [.. keys];
        _hmacs = new ThreadLocal<IncrementalHash?[]>(() => new IncrementalHash?[_keys.Length]);
    }

    /// <summary>How many candidate keys a look-up tries: 1 + the number of previous peppers.</summary>
    internal int CandidateCount => _keys.Length;

    /// <summary>The key under the current pepper (32 bytes).</summary>
    public byte[] Hash(ReadOnlySpan<byte> secret) => Hash(secret, 0);

    /// <summary>The key under the current pepper, then under each previous pepper, in order.</summary>
    public IReadOnlyList<byte[]> CandidateHashes(ReadOnlySpan<byte> secret)
    {
        var hashes = new byte[_keys.Length][];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = Hash(secret, i);
        }
        return hashes;
    }

    /// <summary>The key under candidate <paramref name="index"/> (0: current pepper; 1..: previous peppers), so
    /// look-ups compute only as many hashes as they need.</summary>
    internal byte[] Hash(ReadOnlySpan<byte> secret, int index)
    {
        var key = _keys[index];
        if (key is null)
        {
            return SHA256.HashData(secret);
        }
        var hmacs = _hmacs.Value!;
        var hmac = hmacs[index] ??= IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(secret);
        return hmac.GetHashAndReset();
    }
}
