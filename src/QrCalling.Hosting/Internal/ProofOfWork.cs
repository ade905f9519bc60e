using System.Buffers.Binary;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>Proof of work for calls to a code that is over its per-code budget, so a few flooding addresses cannot keep
/// its owner unreachable: instead of a refusal, a caller gets a challenge and is admitted once it shows a solution.
/// Challenges are stateless (an HMAC under this instance's key binds expiry, difficulty and the code) and single-use
/// (a solved one is remembered until it expires). The difficulty grows with the pressure on the code: one more bit each
/// time the refused starts in the current window double past the per-code budget.</summary>
/// <remarks>A solution is a string of at most 64 characters such that SHA-256 of UTF-8 <c>challenge + ":" +
/// solution</c> starts with at least <c>difficulty</c> zero bits.</remarks>
internal sealed class ProofOfWork(TimeProvider time, IOptions<QrCallingHostingOptions> options)
{
    private const int MaxDifficulty = 24;
    private const int MaxTracked = 100_000;
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, (DateTimeOffset WindowStart, int Refused)> _pressure = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);

    /// <summary>A new challenge for a code (<paramref name="codeKey"/>: the keyed hash the per-code limiter uses), and
    /// counts one more refused start on it.</summary>
    public (string Challenge, int Difficulty) Issue(string codeKey)
    {
        var limits = options.Value.RateLimits;
        var now = time.GetUtcNow();
        Prune(_pressure, now, e => e.WindowStart + limits.Window);
        var pressure = _pressure.AddOrUpdate(codeKey, _ => (now, 1),
            (_, e) => now - e.WindowStart >= limits.Window ? (now, 1) : (e.WindowStart, e.Refused + 1));
        var extra = (int)Math.Floor(Math.Log2(1 + (double)pressure.Refused / limits.CallsPerCode));
        var difficulty = Math.Min(MaxDifficulty, limits.ProofOfWorkBits + extra);
        var body = string.Join('.', "v1", (now + Lifetime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            difficulty.ToString(CultureInfo.InvariantCulture), CodeTag(codeKey), Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12)));
        return (body + "." + Mac(body), difficulty);
    }

    /// <summary>True when <paramref name="challenge"/> was issued here for this code, has not expired nor been used, and
    /// <paramref name="solution"/> solves it; a proof is accepted once.</summary>
    public bool Verify(string codeKey, string? challenge, string? solution)
    {
        if (challenge is not { Length: < 256 } || solution is not { Length: > 0 and <= 64 })
        {
            return false;
        }
        var parts = challenge.Split('.');
        if (parts.Length != 6 || parts[0] != "v1"
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var difficulty) || difficulty > MaxDifficulty)
        {
            return false;
        }
        var body = challenge[..challenge.LastIndexOf('.')];
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Mac(body)), Encoding.ASCII.GetBytes(parts[5]))
            || parts[3] != CodeTag(codeKey))
        {
            return false;
        }
        var now = time.GetUtcNow();
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds(expires);
        if (expiresAt <= now || !Solves(challenge, solution, difficulty))
        {
            return false;
        }
        Prune(_used, now, until => until);
        return _used.TryAdd(challenge, expiresAt); // single use
    }

    /// <summary>True when SHA-256 of <c>challenge:solution</c> starts with <paramref name="difficulty"/> zero bits.</summary>
    public static bool Solves(string challenge, string solution, int difficulty)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(challenge + ":" + solution), hash);
        var leading = BinaryPrimitives.ReadUInt64BigEndian(hash);
        return difficulty <= 0 || (difficulty <= 64 && (leading >> (64 - difficulty)) == 0);
    }

    private string CodeTag(string codeKey) => Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes("code:" + codeKey)).AsSpan(0, 9));

    private string Mac(string body) => Base64Url.EncodeToString(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(body)).AsSpan(0, 18));

    private static void Prune<T>(ConcurrentDictionary<string, T> map, DateTimeOffset now, Func<T, DateTimeOffset> until)
    {
        if (map.Count < MaxTracked)
        {
            return;
        }
        foreach (var (key, value) in map)
        {
            if (until(value) <= now)
            {
                map.TryRemove(key, out _);
            }
        }
    }
}
