using System.Net;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>Keyed hashes for rate-limit partitions: HMAC-SHA256 under a random key kept only in memory and replaced every
/// <see cref="QrCallingRateLimitOptions.ClientKeyRotation"/>, so no raw IP or token is ever kept as a partition key.</summary>
internal sealed class ClientKeyHasher(IOptions<QrCallingHostingOptions> options, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private byte[] _key = RandomNumberGenerator.GetBytes(32);
    private DateTimeOffset _keyCreated = timeProvider.GetUtcNow();

    /// <summary>A partition key for a client address (a shared key when the address is unknown).</summary>
    public string HashAddress(IPAddress? address)
    {
        if (address is null)
        {
            return "ip:unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        Span<byte> bytes = stackalloc byte[16];
        return address.TryWriteBytes(bytes, out var written) ? "ip:" + Hash(bytes[..written]) : "ip:unknown";
    }

    /// <summary>A keyed hash of arbitrary secret bytes (e.g. a code's token), as a short string.</summary>
    public string Hash(ReadOnlySpan<byte> secret)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(CurrentKey(), secret, mac);
        return Convert.ToBase64String(mac[..18]);
    }

    private byte[] CurrentKey()
    {
        var now = timeProvider.GetUtcNow();
        lock (_gate)
        {
            if (now - _keyCreated >= options.Value.RateLimits.ClientKeyRotation)
            {
                _key = RandomNumberGenerator.GetBytes(32);
                _keyCreated = now;
            }
            return _key;
        }
    }
}
