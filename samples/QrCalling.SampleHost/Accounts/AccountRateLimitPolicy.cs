using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Register and login: a fixed window per client address (kept in memory only, never logged), answering
/// 429 with a problem details body whose code is <c>rate_limited</c>.</summary>
public sealed class AccountRateLimitPolicy(int permitsPerMinute) : IRateLimiterPolicy<string>
{
    /// <inheritdoc />
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (context, _) =>
    {
        context.HttpContext.Response.Headers.RetryAfter = "60";
        await AccountEndpoints.Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many attempts; try again in a minute.")
            .ExecuteAsync(context.HttpContext);
    };

    /// <inheritdoc />
    public RateLimitPartition<string> GetPartition(HttpContext httpContext) => RateLimitPartition.GetFixedWindowLimiter(
        httpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown",
        _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
}
