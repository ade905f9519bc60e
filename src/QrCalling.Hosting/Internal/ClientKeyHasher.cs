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

    /// <summary>Bytes of an IPv6 address that name one client: its /64 prefix, since one subscriber usually holds a whole
    /// /64 and could otherwise pick a fresh address (and budget) per request.</summary>
    private const int Ipv6PrefixBytes = 8;

    /// <summary>A partition key for a client address: the whole IPv4 address (also when written as IPv4-mapped IPv6),
    /// or the /64 prefix of an IPv6 address; a shared key when the address is unknown.</summary>
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
        if (!address.TryWriteBytes(bytes, out var written))
        {
            return "ip:unknown";
        }
        // 4 bytes for IPv4, 8 for an IPv6 prefix: the lengths differ, so the two can never share a hash.
        return "ip:" + Hash(bytes[..(written == 16 ? Ipv6PrefixBytes : written)]);
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
