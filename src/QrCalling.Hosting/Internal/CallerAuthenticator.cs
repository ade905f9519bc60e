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

    /// <summary>The key of a token: its keyed hash (never the token itself).</summary>
    public string KeyOf(string token) => hasher.Hash(Encoding.UTF8.GetBytes(token));

    public bool Contains(string token) => _tokens.TryGetValue(KeyOf(token), out var until) && time.GetUtcNow() < until;

    public void Add(string token)
    {
        var now = time.GetUtcNow();
        if (_tokens.Count >= Capacity)
        {
            foreach (var (key, until) in _tokens)
            {
                if (until <= now)
                {
                    _tokens.TryRemove(key, out _);
                }
            }
            if (_tokens.Count >= Capacity)
            {
                return; // full of live tokens: this one is budgeted per client instead
            }
        }
        _tokens[KeyOf(token)] = now + options.Value.MaxCallDuration;
    }

    public void Remove(string token) => _tokens.TryRemove(KeyOf(token), out _);
}
