using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Internal;

/// <summary>Authenticates call tokens (REST and hub) without letting a guesser reach storage: a token that cannot be a
/// call token is refused without a look-up; a token this instance recently saw valid (issued here, or admitted before)
/// is looked up at once; any other token first spends one of the client's failed-attempt permits (keyed IP hash), and
/// once those are spent it is refused with <c>rate_limited</c> before any look-up.</summary>
internal sealed class CallerAuthenticator(CallService calls, AttemptLimiter attempts, RecentCallTokens recent)
{
    private static readonly QrCallingError RateLimited =
        new(QrCallingErrorCodes.RateLimited, "Too many failed attempts from this client; try again later.");

    public async ValueTask<(CallActor? Caller, QrCallingError? Error)> AuthenticateAsync(string token, HttpContext? context, CancellationToken cancellationToken)
    {
        var known = recent.Contains(token);
        if (!known && !attempts.RecordFailure(attempts.ClientKey(context)))
        {
            return (null, RateLimited);
        }
        var caller = CallService.IsWellFormedCallToken(token) ? await calls.AuthenticateCallerAsync(token, cancellationToken) : null;
        if (caller is null)
        {
            recent.Remove(token);
            return (null, ParticipantResolver.Unauthorized("The call token is unknown or expired."));
        }
        recent.Add(token);
        return (caller, null);
    }
}

/// <summary>Keyed hashes of call tokens this instance recently saw valid (at most 100,000, each for the maximum call
/// duration), so the rate limiter can give a real caller its own budget and put every other token in its client's.</summary>
internal sealed class RecentCallTokens(ClientKeyHasher hasher, IOptions<QrCallingOptions> options, TimeProvider time)
{
    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new(StringComparer.Ordinal);

    /// <summary>How many tokens the map holds, kept beside it: ConcurrentDictionary.Count takes every lock of the map,
    /// too dear for the call path (each call start and caller connection adds a token).</summary>
    private int _count;

    /// <summary>The key of a token: its keyed hash (never the token itself).</summary>
    public string KeyOf(string token) => hasher.Hash(Encoding.UTF8.GetBytes(token));

    public bool Contains(string token) => _tokens.TryGetValue(KeyOf(token), out var until) && time.GetUtcNow() < until;

    public void Add(string token)
    {
        var now = time.GetUtcNow();
        if (Volatile.Read(ref _count) >= Capacity)
        {
            foreach (var (key, until) in _tokens)
            {
                if (until <= now)
                {
                    RemoveKey(key);
                }
            }
            if (Volatile.Read(ref _count) >= Capacity)
            {
                return; // full of live tokens: this one is budgeted per client instead
            }
        }
        var tokenKey = KeyOf(token);
        var expiresAt = now + options.Value.MaxCallDuration;
        while (true)
        {
            if (_tokens.TryAdd(tokenKey, expiresAt))
            {
                Interlocked.Increment(ref _count);
                return;
            }
            if (_tokens.TryGetValue(tokenKey, out var old) && _tokens.TryUpdate(tokenKey, expiresAt, old))
            {
                return;
            }
        }
    }

    public void Remove(string token) => RemoveKey(KeyOf(token));

    private void RemoveKey(string key)
    {
        if (_tokens.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
