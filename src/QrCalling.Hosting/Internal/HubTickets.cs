using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>Short-lived, single-use hub tickets, so that no long-lived credential (an owner's JWT, a call token) has to
/// travel in a hub URL (<c>?access_token=</c>, which proxies log): a client trades its credential for a ticket
/// (<c>POST /hub-tickets</c>) and connects with the ticket. A ticket is <c>qht_</c> + base64url of an AES-GCM sealed
/// record (who: an owner or a call; until when the ticket is valid; until when the credential it came from is valid),
/// under a key derived from the pepper (random per process without one), so it says nothing to whoever sees it and
/// works on every instance with the same pepper. It is accepted once per instance.</summary>
internal sealed class HubTickets(IOptions<QrCallingOptions> options, TimeProvider time)
{
    public const string Prefix = "qht_";
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(30);
    private const int MaxTracked = 100_000;
    private readonly byte[] _key = options.Value.Pepper is { Length: > 0 } pepper
        ? HMACSHA256.HashData(Encoding.UTF8.GetBytes(pepper), "qrcalling hub tickets v1"u8)
        : RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);

    /// <summary>How many tickets <see cref="_used"/> holds (ConcurrentDictionary.Count takes every lock of the map).</summary>
    private int _usedCount;

    /// <summary>What a ticket admits: an owner (<see cref="IsOwner"/>) or the caller of a call, and until when the
    /// credential it was traded for is valid (the connection is closed then).</summary>
    public readonly record struct Admission(bool IsOwner, string Id, DateTimeOffset CredentialExpiresAt)
    {
        /// <summary>A room participant (<see cref="Id"/> is <c>roomId/participantId</c>), admitted only by the rooms hub.</summary>
        public bool IsRoom { get; init; }
    }

    /// <summary>A new ticket and when it expires.</summary>
    public (string Ticket, DateTimeOffset ExpiresAt) Issue(Admission admission)
    {
        var expiresAt = time.GetUtcNow() + Lifetime;
        var id = Encoding.UTF8.GetBytes(admission.Id);
        var plain = new byte[1 + 8 + 8 + id.Length];
        plain[0] = admission.IsOwner ? (byte)1 : admission.IsRoom ? (byte)2 : (byte)0;
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(1), expiresAt.ToUnixTimeSeconds());
        BinaryPrimitives.WriteInt64BigEndian(plain.AsSpan(9), admission.CredentialExpiresAt.ToUnixTimeSeconds());
        id.CopyTo(plain, 17);
        var sealedBytes = new byte[12 + plain.Length + 16];
        RandomNumberGenerator.Fill(sealedBytes.AsSpan(0, 12));
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(sealedBytes.AsSpan(0, 12), plain, sealedBytes.AsSpan(12, plain.Length), sealedBytes.AsSpan(12 + plain.Length));
        return (Prefix + Base64Url.EncodeToString(sealedBytes), expiresAt);
    }

    /// <summary>The admission of a valid, unexpired ticket not used on this instance before, or null.</summary>
    public Admission? Redeem(string? ticket)
    {
        if (ticket is not { Length: > 4 and < 1024 } || !ticket.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }
        var encoded = ticket.AsSpan(Prefix.Length);
        if (encoded.ContainsAnyExcept(Base64UrlAlphabet))
        {
            return null;
        }
        byte[] sealedBytes;
        try
        {
            sealedBytes = Base64Url.DecodeFromChars(encoded);
        }
        catch (FormatException)
        {
            return null; // a length no base64url text has
        }
        if (sealedBytes.Length < 12 + 17 + 16)
        {
            return null;
        }
        var plain = new byte[sealedBytes.Length - 28];
        try
        {
            using var aes = new AesGcm(_key, 16);
            aes.Decrypt(sealedBytes.AsSpan(0, 12), sealedBytes.AsSpan(12, plain.Length), sealedBytes.AsSpan(12 + plain.Length), plain);
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
        var now = time.GetUtcNow();
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(1)));
        if (expiresAt <= now)
        {
            return null;
        }
        if (Volatile.Read(ref _usedCount) >= MaxTracked)
        {
            foreach (var (key, until) in _used)
            {
                if (until <= now && _used.TryRemove(key, out _))
                {
                    Interlocked.Decrement(ref _usedCount);
                }
            }
        }
        if (!_used.TryAdd(ticket, expiresAt))
        {
            return null; // used before
        }
        Interlocked.Increment(ref _usedCount);
        return new Admission(plain[0] == 1, Encoding.UTF8.GetString(plain.AsSpan(17)),
            DateTimeOffset.FromUnixTimeSeconds(BinaryPrimitives.ReadInt64BigEndian(plain.AsSpan(9)))) { IsRoom = plain[0] == 2 };
    }

    private static readonly System.Buffers.SearchValues<char> Base64UrlAlphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}
