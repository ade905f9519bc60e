using System.Buffers.Text;
using System.Security.Cryptography;
using QrCalling.Codes;
using QrCalling.Storage;

namespace QrCalling.Calls.Internal;

/// <summary>Call tokens: <c>qct_</c> + 32 random bytes (base64url), stored only as a keyed hash. Look-ups try the
/// current pepper, then the previous ones, so a pepper rotation does not cut off calls in progress.</summary>
internal sealed class CallTokens(IStorage storage, TokenHasher hasher, TimeProvider time)
{
    private const int TokenBytes = 32;
    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
    private static readonly int EncodedLength = CallService.CallTokenPrefix.Length + Base64Url.GetEncodedLength(TokenBytes);

    /// <summary>A new token and its keyed hash (under the current pepper).</summary>
    public (string Token, byte[] Hash) Issue()
    {
        Span<byte> bytes = stackalloc byte[TokenBytes];
        RandomNumberGenerator.Fill(bytes);
        var token = CallService.CallTokenPrefix + Base64Url.EncodeToString(bytes);
        var hash = hasher.Hash(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return (token, hash);
    }

    /// <summary>True when <paramref name="callToken"/> has the shape of a call token (prefix, length, base64url); says
    /// nothing about whether it is known. Checked before any look-up.</summary>
    public static bool IsWellFormed(string? callToken)
    {
        if (callToken is null || callToken.Length != EncodedLength || !callToken.StartsWith(CallService.CallTokenPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        var encoded = callToken.AsSpan(CallService.CallTokenPrefix.Length);
        if (encoded.ContainsAnyExcept(Base64UrlAlphabet))
        {
            return false; // Base64Url.TryDecodeFromChars throws on such characters rather than answering false
        }
        Span<byte> bytes = stackalloc byte[TokenBytes];
        var ok = Base64Url.TryDecodeFromChars(encoded, bytes, out var written) && written == TokenBytes;
        CryptographicOperations.ZeroMemory(bytes);
        return ok;
    }

    /// <summary>The call a token admits to, or null for an unknown, malformed or expired token.</summary>
    public async ValueTask<CallRecord?> FindAsync(string? callToken, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(callToken))
        {
            return null;
        }
        var hashes = new byte[hasher.CandidateCount][];
        var bytes = new byte[TokenBytes];
        Base64Url.TryDecodeFromChars(callToken.AsSpan(CallService.CallTokenPrefix.Length), bytes, out _);
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = hasher.Hash(bytes, i);
        }
        CryptographicOperations.ZeroMemory(bytes);
        foreach (var hash in hashes)
        {
            var call = await storage.Calls.FindByTokenHashAsync(hash, cancellationToken).ConfigureAwait(false);
            if (call is not null)
            {
                return time.GetUtcNow() >= call.ExpiresAt ? null : call;
            }
        }
        return null;
    }
}
