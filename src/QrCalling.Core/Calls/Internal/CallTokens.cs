using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using QrCalling.Codes;
using QrCalling.Storage;

namespace QrCalling.Calls.Internal;

/// <summary>Call tokens: <c>qct_</c> + 32 random bytes (base64url), stored only as a keyed hash. Look-ups try the
/// current pepper, then the previous ones, so a pepper rotation does not cut off calls in progress.</summary>
/// <remarks>A token issued on this instance is remembered (its keyed hash, never the token) for a minute: the caller
/// connects to the hub and polls right after the start, and those look-ups need no read of the store. A call deleted
/// within that minute (an owner's erasure) is caught by the first read of the call itself, which every use of the
/// token makes: its commands and reads answer <c>not_participant</c>, the hub refuses the connection.</remarks>
internal sealed class CallTokens(IStorage storage, TokenHasher hasher, TimeProvider time)
{
    private const int TokenBytes = 32;
    private const int MaxIssued = 100_000;
    private static readonly TimeSpan IssuedLifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (string CallId, DateTimeOffset Until)> _issued = new(StringComparer.Ordinal);

    /// <summary>How many entries <see cref="_issued"/> holds (ConcurrentDictionary.Count takes every lock of the map,
    /// too dear for each call start).</summary>
    private int _issuedCount;
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

    /// <summary>Remembers the token of a call this instance has just started, by its keyed hash, for a minute (never
    /// past the call's expiry).</summary>
    public void Remember(CallRecord call)
    {
        var now = time.GetUtcNow();
        if (Volatile.Read(ref _issuedCount) >= MaxIssued)
        {
            foreach (var (key, entry) in _issued)
            {
                if (entry.Until <= now && _issued.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _issuedCount);
                }
            }
            if (Volatile.Read(ref _issuedCount) >= MaxIssued)
            {
                return; // full of fresh tokens: this one is looked up in the store
            }
        }
        var until = now + IssuedLifetime;
        if (_issued.TryAdd(Convert.ToBase64String(call.CallTokenHash), (call.CallId, until < call.ExpiresAt ? until : call.ExpiresAt)))
        {
            Interlocked.Increment(ref _issuedCount);
        }
    }

    /// <summary>The call id remembered for a token hash issued here, while it is fresh; an expired entry is dropped.</summary>
    private string? IssuedHere(byte[] hash, DateTimeOffset now)
    {
        var key = Convert.ToBase64String(hash);
        if (!_issued.TryGetValue(key, out var issued))
        {
            return null;
        }
        if (now < issued.Until)
        {
            return issued.CallId;
        }
        if (_issued.TryRemove(new KeyValuePair<string, (string, DateTimeOffset)>(key, issued)))
        {
            Interlocked.Decrement(ref _issuedCount);
        }
        return null;
    }

    /// <summary>The id of the call a token admits to, or null for an unknown, malformed or expired token.</summary>
    public async ValueTask<string?> FindCallIdAsync(string? callToken, CancellationToken cancellationToken)
    {
        if (!IsWellFormed(callToken))
        {
            return null;
        }
        var bytes = new byte[TokenBytes];
        Base64Url.TryDecodeFromChars(callToken.AsSpan(CallService.CallTokenPrefix.Length), bytes, out _);
        var hashes = new byte[hasher.CandidateCount][];
        var now = time.GetUtcNow();
        try
        {
            // The current pepper's hash first: a token issued here needs no other (nor a read).
            hashes[0] = hasher.Hash(bytes, 0);
            if (IssuedHere(hashes[0], now) is { } callId)
            {
                return callId;
            }
            for (var i = 1; i < hashes.Length; i++)
            {
                hashes[i] = hasher.Hash(bytes, i);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes);
        }
        foreach (var hash in hashes)
        {
            var call = await storage.Calls.FindByTokenHashAsync(hash, cancellationToken).ConfigureAwait(false);
            if (call is not null)
            {
                return now >= call.ExpiresAt ? null : call.CallId;
            }
        }
        return null;
    }
}
