using System.Text;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Internal;

/// <summary>Failed authentication attempts per client (keyed hash of the IP): requests and hub connections whose call
/// token is unknown. Once a client's budget for the window is spent, its requests that carry a call token are refused
/// before the token is looked up, so guessing tokens cannot turn into storage load.</summary>
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

    /// <summary>Whether the client may still try a call token (consumes nothing).</summary>
    public bool HasBudget(string clientKey)
    {
        using var lease = _limiter.AttemptAcquire(clientKey, 0);
        return lease.IsAcquired;
    }

    /// <summary>Counts one failed attempt of the client.</summary>
    public void RecordFailure(string clientKey)
    {
        using var lease = _limiter.AttemptAcquire(clientKey);
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Requests to the participant endpoints (<c>GET /calls/{callId}</c>, <c>GET</c> and <c>POST
/// /calls/{callId}/events</c>, <c>GET /ice-servers</c>): per call for a caller (partitioned by the keyed hash of its call
/// token, of which each call has exactly one), per owner for owners, and per client (IP hash) for requests without
/// credentials. A request with a call token from a client whose failed-attempt budget is spent is refused here, before
/// the token is looked up.</summary>
internal sealed class ParticipantRateLimitPolicy(ClientKeyHasher hasher, AttemptLimiter attempts, ParticipantResolver participants,
    IOptions<QrCallingHostingOptions> options, ILogger<ParticipantRateLimitPolicy> logger) : IRateLimiterPolicy<string>
{
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } =
        RateLimitRejection.Create(logger, QrCallingEndpoints.ParticipantPolicy);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var limits = options.Value.RateLimits;
        string key;
        int permits;
        if (ParticipantResolver.CallTokenOf(httpContext.Request, allowQuery: false) is { } token)
        {
            if (!attempts.HasBudget(attempts.ClientKey(httpContext)))
            {
                return RejectingLimiter.Partition;
            }
            key = "call:" + hasher.Hash(Encoding.UTF8.GetBytes(token));
            permits = limits.RequestsPerParticipant;
        }
        else if (participants.OwnerId(httpContext.User) is { } owner)
        {
            key = "owner:" + hasher.Hash(Encoding.UTF8.GetBytes(owner));
            permits = limits.RequestsPerParticipant;
        }
        else
        {
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

/// <summary>Hub negotiation with a call token from a client whose failed-attempt budget is spent is refused with 429
/// (the connection itself is checked again in <c>CallHub.OnConnectedAsync</c>). Other hub requests pass unlimited:
/// hub methods have their own per-identity limit, and long-polling transports send many requests per connection.</summary>
internal sealed class HubConnectRateLimitPolicy(AttemptLimiter attempts, ILogger<HubConnectRateLimitPolicy> logger) : IRateLimiterPolicy<string>
{
    private static readonly RateLimitPartition<string> Unlimited = RateLimitPartition.GetNoLimiter("hub");

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } =
        RateLimitRejection.Create(logger, QrCallingEndpoints.HubConnectPolicy);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var request = httpContext.Request;
        var negotiate = request.Path.Value?.EndsWith("/negotiate", StringComparison.OrdinalIgnoreCase) == true;
        return negotiate && ParticipantResolver.CallTokenOf(request, allowQuery: true) is not null
                         && !attempts.HasBudget(attempts.ClientKey(httpContext))
            ? RejectingLimiter.Partition
            : Unlimited;
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

/// <summary>A limiter that refuses every request: the partition of a client that is locked out for the window.</summary>
internal sealed class RejectingLimiter : RateLimiter
{
    public static RateLimitPartition<string> Partition { get; } = RateLimitPartition.Get("rejected", _ => new RejectingLimiter());

    public override TimeSpan? IdleDuration => null;

    public override RateLimiterStatistics? GetStatistics() => new() { CurrentAvailablePermits = 0 };

    protected override RateLimitLease AttemptAcquireCore(int permitCount) => FailedLease.Instance;

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) => new(FailedLease.Instance);

    private sealed class FailedLease : RateLimitLease
    {
        public static readonly FailedLease Instance = new();

        public override bool IsAcquired => false;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
