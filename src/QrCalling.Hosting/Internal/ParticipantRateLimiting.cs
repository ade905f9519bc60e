using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Internal;

/// <summary>Failed authentication attempts per client (keyed hash of the IP): requests and hub connections whose call
/// token is unknown. Call tokens are always looked up and a valid one is always admitted, so a guesser behind a shared
/// address (carrier NAT, public Wi-Fi) cannot cut the other callers there off their calls; once a client's budget for
/// the window is spent, its unknown tokens are answered <c>rate_limited</c> instead of <c>unauthorized</c>.</summary>
internal sealed class AttemptLimiter : IDisposable
{
    private readonly ClientKeyHasher _hasher;
    private readonly PartitionedRateLimiter<string> _limiter;

    public AttemptLimiter(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options)
    {
        _hasher = hasher;
        var limits = options.Value.RateLimits;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = limits.FailedAttemptsPerClient, Window = limits.Window, QueueLimit = 0 }));
    }

    public string ClientKey(HttpContext? context) => _hasher.HashAddress(context?.Connection.RemoteIpAddress);

    /// <summary>Counts one failed attempt of the client; false when its budget for the window was already spent (answer
    /// <c>rate_limited</c> then).</summary>
    public bool RecordFailure(string clientKey)
    {
        using var lease = _limiter.AttemptAcquire(clientKey);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Requests to the participant endpoints (<c>GET /calls/{callId}</c>, <c>GET</c> and <c>POST
/// /calls/{callId}/events</c>, <c>GET /ice-servers</c>): per call for a caller whose token this instance recently saw
/// valid (partitioned by the keyed hash of its call token, of which each call has exactly one), per owner for owners,
/// and per client (IP hash) for everything else, unknown call tokens included.</summary>
internal sealed class ParticipantRateLimitPolicy(ClientKeyHasher hasher, AttemptLimiter attempts, ParticipantResolver participants,
    RecentCallTokens recent, IOptions<QrCallingHostingOptions> options, ILogger<ParticipantRateLimitPolicy> logger) : IRateLimiterPolicy<string>
{
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } =
        RateLimitRejection.Create(logger, QrCallingEndpoints.ParticipantPolicy);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var limits = options.Value.RateLimits;
        string key;
        int permits;
        var token = ParticipantResolver.CallTokenOf(httpContext.Request, allowQuery: false);
        if (token is not null && recent.Contains(token))
        {
            key = "call:" + recent.KeyOf(token);
            permits = limits.RequestsPerParticipant;
        }
        else if (token is null && participants.OwnerId(httpContext.User) is { } owner)
        {
            key = "owner:" + hasher.Hash(Encoding.UTF8.GetBytes(owner));
            permits = limits.RequestsPerParticipant;
        }
        else
        {
            // No credentials, or a call token this instance has not seen valid: the client's small budget, so random
            // tokens neither get a partition each nor reach storage more than a few times.
            key = "anonymous:" + attempts.ClientKey(httpContext);
            permits = limits.FailedAttemptsPerClient;
        }
        return RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = limits.Window,
            QueueLimit = 0,
        });
    }
}

/// <summary>Concurrent long polls (<c>GET /calls/{callId}/events</c> with <c>waitSeconds</c> above zero) per call and
/// side, so one participant cannot park an unbounded number of waiting requests.</summary>
internal sealed class LongPollLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public LongPollLimiter(IOptions<QrCallingHostingOptions> options)
    {
        var limit = options.Value.RateLimits.LongPollsPerCall;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetConcurrencyLimiter(key, _ =>
            new ConcurrencyLimiterOptions { PermitLimit = limit, QueueLimit = 0 }));
    }

    /// <summary>The partition of a long poll: the caller's call, or an owner's view of one call.</summary>
    public static string KeyOf(QrCalling.Calls.CallActor actor, string callId) =>
        actor.IsCaller ? "c:" + actor.CallerCallId : $"o:{actor.OwnerId!.Length}:{actor.OwnerId}:{callId}";

    /// <summary>A lease to hold while the poll waits; check <see cref="RateLimitLease.IsAcquired"/>.</summary>
    public RateLimitLease Acquire(string key) => _limiter.AttemptAcquire(key);

    /// <summary>Free slots of a partition (for tests and diagnostics).</summary>
    public long? Available(string key) => _limiter.GetStatistics(key)?.CurrentAvailablePermits;

    public void Dispose() => _limiter.Dispose();
}
