using Xunit;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

public sealed class TokenHasherTests
{
    private static TokenHasher Create(string? pepper, params string[] previous)
    {
        var options = new QrCallingOptions { Pepper = pepper };
        foreach (var p in previous)
        {
            options.PreviousPeppers.Add(p);
        }
        return new TokenHasher(Options.Create(options));
    }

    [Fact]
    public void Hash_WithPepper_IsHmacSha256OfTheBytes()
    {
        var secret = RandomNumberGenerator.GetBytes(32);

        var hash = Create("pepper-0123456789abcdef").Hash(secret);

        Assert.Equal(HMACSHA256.HashData(Encoding.UTF8.GetBytes("pepper-0123456789abcdef"), secret), hash);
        Assert.Equal(32, hash.Length);
    }

    [Fact]
    public void Hash_WithoutPepper_IsSha256OfTheBytes()
    {
        var secret = RandomNumberGenerator.GetBytes(32);

        Assert.Equal(SHA256.HashData(secret), Create(null).Hash(secret));
    }

    [Fact]
    public void CandidateHashes_WithPreviousPeppers_AreCurrentThenPreviousInOrder()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var hasher = Create("current-pepper-0001", "previous-pepper-001", "previous-pepper-002");

        var candidates = hasher.CandidateHashes(secret);

        Assert.Equal(3, candidates.Count);
        Assert.Equal(hasher.Hash(secret), candidates[0]);
        Assert.Equal(Create("previous-pepper-001").Hash(secret), candidates[1]);
        Assert.Equal(Create("previous-pepper-002").Hash(secret), candidates[2]);
        Assert.Equal(3, candidates.Select(Convert.ToHexString).Distinct().Count());
    }

    [Fact]
    public void CandidateHashes_NoPreviousPeppers_IsJustTheCurrentHash()
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        var hasher = Create("current-pepper-0001");

        Assert.Equal([hasher.Hash(secret)], hasher.CandidateHashes(secret));
    }

    [Fact]
    public void Hash_DifferentPeppers_GiveDifferentKeys()
    {
        var secret = RandomNumberGenerator.GetBytes(32);

        Assert.NotEqual(Create("pepper-aaaaaaaaaaaaaa").Hash(secret), Create("pepper-bbbbbbbbbbbbbb").Hash(secret));
        Assert.NotEqual(Create(null).Hash(secret), Create("pepper-aaaaaaaaaaaaaa").Hash(secret));
    }

    [Fact]
    public async Task Hash_ManyThreadsAtOnce_GivesTheSameKeysAsOneThread()
    {
        var hasher = Create("current-pepper-0001", "previous-pepper-001");
        var secrets = Enumerable.Range(0, 64).Select(_ => RandomNumberGenerator.GetBytes(32)).ToArray();
        var expected = secrets.Select(s => HMACSHA256.HashData(Encoding.UTF8.GetBytes("current-pepper-0001"), s)).ToArray();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            Enumerable.Range(0, 200).All(i =>
            {
                var n = i % secrets.Length;
                return hasher.Hash(secrets[n]).AsSpan().SequenceEqual(expected[n])
                    && hasher.CandidateHashes(secrets[n])[0].AsSpan().SequenceEqual(expected[n]);
            }))));

        Assert.All(results, Assert.True);
    }
}
