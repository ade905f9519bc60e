using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Internal;

/// <summary>The 429 <c>rate_limited</c> problem every QrCalling rate-limiter policy answers with.</summary>
internal static class RateLimitRejection
{
    public static Func<OnRejectedContext, CancellationToken, ValueTask> Create(ILogger logger, string limitName) => async (context, cancellationToken) =>
    {
        Log.RateLimited(logger, limitName);
        await ApiResults.WriteProblemAsync(context.HttpContext,
            new QrCallingError(QrCallingErrorCodes.RateLimited, "Too many requests; try again later."), cancellationToken);
    };
}

/// <summary>ASP.NET Core rate-limiter policy for a public endpoint, partitioned by the keyed hash of the client IP.
/// If the host adds its own <c>UseRateLimiter()</c> as well, each middleware keeps its own counters, so the limit stays the same.</summary>
internal abstract class ClientRateLimitPolicy(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options, ILogger logger)
    : IRateLimiterPolicy<string>
{
    protected abstract string LimitName { get; }

    protected abstract int PermitLimit(QrCallingRateLimitOptions limits);

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => RateLimitRejection.Create(logger, LimitName);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var limits = options.Value.RateLimits;
        var key = hasher.HashAddress(httpContext.Connection.RemoteIpAddress);
        return RateLimitPartition.GetFixedWindowLimiter(LimitName + "|" + key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = PermitLimit(limits),
            Window = limits.Window,
            QueueLimit = 0,
        });
    }
}

/// <summary>Owner endpoints (codes, QR rendering, history), partitioned by the keyed hash of the owner id; requests
/// without an owner share their client's (IP hash) partition and are then answered 401.</summary>
internal abstract class OwnerRateLimitPolicy(ClientKeyHasher hasher, ParticipantResolver participants, IOptions<QrCallingHostingOptions> options,
    ILogger logger) : IRateLimiterPolicy<string>
{
    protected abstract string LimitName { get; }

    protected abstract int PermitLimit(QrCallingRateLimitOptions limits);

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => RateLimitRejection.Create(logger, LimitName);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var limits = options.Value.RateLimits;
        var key = participants.OwnerId(httpContext.User) is { } owner
            ? "owner:" + hasher.Hash(System.Text.Encoding.UTF8.GetBytes(owner))
            : "client:" + hasher.HashAddress(httpContext.Connection.RemoteIpAddress);
        return RateLimitPartition.GetFixedWindowLimiter(LimitName + "|" + key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = PermitLimit(limits),
            Window = limits.Window,
            QueueLimit = 0,
        });
    }
}

internal sealed class OwnerRequestsRateLimitPolicy(ClientKeyHasher hasher, ParticipantResolver participants, IOptions<QrCallingHostingOptions> options,
    ILogger<OwnerRequestsRateLimitPolicy> logger) : OwnerRateLimitPolicy(hasher, participants, options, logger)
{
    protected override string LimitName => QrCallingEndpoints.OwnerPolicy;
    protected override int PermitLimit(QrCallingRateLimitOptions limits) => limits.OwnerRequestsPerOwner;
}

internal sealed class QrRateLimitPolicy(ClientKeyHasher hasher, ParticipantResolver participants, IOptions<QrCallingHostingOptions> options,
    ILogger<QrRateLimitPolicy> logger) : OwnerRateLimitPolicy(hasher, participants, options, logger)
{
    protected override string LimitName => QrCallingEndpoints.QrPolicy;
    protected override int PermitLimit(QrCallingRateLimitOptions limits) => limits.QrRendersPerOwner;
}

internal sealed class ScanRateLimitPolicy(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options, ILogger<ScanRateLimitPolicy> logger)
    : ClientRateLimitPolicy(hasher, options, logger)
{
    protected override string LimitName => QrCallingEndpoints.ScanPolicy;
    protected override int PermitLimit(QrCallingRateLimitOptions limits) => limits.ScansPerClient;
}

internal sealed class CallsRateLimitPolicy(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options, ILogger<CallsRateLimitPolicy> logger)
    : ClientRateLimitPolicy(hasher, options, logger)
{
    protected override string LimitName => QrCallingEndpoints.CallsPolicy;
    protected override int PermitLimit(QrCallingRateLimitOptions limits) => limits.CallsPerClient;
}

/// <summary>Calls per code, from all clients together, partitioned by the keyed hash of the code's token.</summary>
internal sealed class CodeCallLimiter : IDisposable
{
    private readonly ClientKeyHasher _hasher;
    private readonly PartitionedRateLimiter<string> _limiter;
    private readonly ILogger<CodeCallLimiter> _logger;

    public CodeCallLimiter(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options, ILogger<CodeCallLimiter> logger)
    {
        _hasher = hasher;
        _logger = logger;
        var limits = options.Value.RateLimits;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = limits.CallsPerCode, Window = limits.Window, QueueLimit = 0 }));
    }

    /// <summary>The key of a code's partition: the keyed hash of its token.</summary>
    public string KeyOf(CodeToken token) => _hasher.Hash(token.Bytes);

    public bool TryAcquire(CodeToken token)
    {
        using var lease = _limiter.AttemptAcquire(KeyOf(token));
        if (!lease.IsAcquired)
        {
            Log.RateLimited(_logger, "calls-per-code");
        }
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>Hub method calls and connections per identity: a caller's call id, an owner's id, or the client's IP hash, so
/// reconnecting does not give a fresh budget.</summary>
internal sealed class HubRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public HubRateLimiter(IOptions<QrCallingHostingOptions> options)
    {
        var limits = options.Value.RateLimits;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetTokenBucketLimiter(key, _ =>
            new TokenBucketRateLimiterOptions
            {
                TokenLimit = limits.HubBurst,
                TokensPerPeriod = limits.HubPerSecond,
                ReplenishmentPeriod = limits.HubReplenishmentPeriod,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public bool TryAcquire(string identity)
    {
        using var lease = _limiter.AttemptAcquire(identity);
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}

/// <summary>POST /rooms per client (keyed IP hash).</summary>
internal sealed class RoomsRateLimitPolicy(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options, ILogger<RoomsRateLimitPolicy> logger)
    : ClientRateLimitPolicy(hasher, options, logger)
{
    protected override string LimitName => RoomEndpoints.CreatePolicy;
    protected override int PermitLimit(QrCallingRateLimitOptions limits) => limits.RoomsPerClient;
}

/// <summary>Room participant routes: a well-formed participant token gets its own partition (its keyed hash), anything
/// else shares its client's small budget.</summary>
internal sealed class RoomParticipantRateLimitPolicy(ClientKeyHasher hasher, IOptions<QrCallingHostingOptions> options,
    ILogger<RoomParticipantRateLimitPolicy> logger) : IRateLimiterPolicy<string>
{
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = RateLimitRejection.Create(logger, RoomEndpoints.ParticipantPolicy);

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var limits = options.Value.RateLimits;
        var token = RoomEndpoints.BearerOf(httpContext.Request);
        var (key, permits) = QrCalling.Rooms.RoomService.IsWellFormedToken(token)
            ? ("room:" + hasher.Hash(System.Text.Encoding.UTF8.GetBytes(token!)), limits.RequestsPerParticipant)
            : ("anonymous:" + hasher.HashAddress(httpContext.Connection.RemoteIpAddress), limits.FailedAttemptsPerClient);
        return RateLimitPartition.GetFixedWindowLimiter(RoomEndpoints.ParticipantPolicy + "|" + key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = limits.Window,
            QueueLimit = 0,
        });
    }
}

/// <summary>Rooms created on this instance per window from all clients together; past it, creators show a proof of work.</summary>
internal sealed class RoomCreationLimiter : IDisposable
{
    private readonly FixedWindowRateLimiter _limiter;

    public RoomCreationLimiter(IOptions<QrCallingHostingOptions> options)
    {
        var limits = options.Value.RateLimits;
        _limiter = new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions { PermitLimit = limits.RoomsBeforeProof, Window = limits.Window, QueueLimit = 0 });
    }

    public bool TryAcquire()
    {
        using var lease = _limiter.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Dispose() => _limiter.Dispose();
}
