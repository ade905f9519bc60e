using System.Net;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Register and login: a fixed window per client address, answering 429 with a problem details body whose
/// code is <c>rate_limited</c>. The partition key is a keyed hash of the address (HMAC-SHA256 with a random key made
/// once per process), so no raw IP address is kept in memory as a key; it is never logged either.</summary>
public sealed class AccountRateLimitPolicy(int permitsPerMinute) : IRateLimiterPolicy<string>
{
    private static readonly byte[] AddressKey = RandomNumberGenerator.GetBytes(32);

    /// <inheritdoc />
    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (context, _) =>
    {
        context.HttpContext.Response.Headers.RetryAfter = "60";
        await AccountEndpoints.Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many attempts; try again in a minute.")
            .ExecuteAsync(context.HttpContext);
    };

    /// <inheritdoc />
    public RateLimitPartition<string> GetPartition(HttpContext httpContext) => RateLimitPartition.GetFixedWindowLimiter(
        PartitionKey(httpContext.Connection.RemoteIpAddress),
        _ => new FixedWindowRateLimiterOptions { PermitLimit = permitsPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });

    /// <summary>The partition key of a client address: "ip:" and the hex of HMAC-SHA256(per-process key, the client's
    /// bytes), or "unknown" when there is no address. The client is the whole IPv4 address (also when written as
    /// IPv4-mapped IPv6) or the /64 prefix of an IPv6 address: one subscriber usually holds a whole /64 and could
    /// otherwise take a fresh address, and a fresh budget, for every request.</summary>
    public static string PartitionKey(IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written))
        {
            return "unknown";
        }
        // 4 bytes for IPv4, 8 for an IPv6 /64: the lengths differ, so the two can never share a hash.
        return "ip:" + Convert.ToHexStringLower(HMACSHA256.HashData(AddressKey, bytes[..(written == 16 ? Ipv6PrefixBytes : written)]));
    }

    private const int Ipv6PrefixBytes = 8;
}
