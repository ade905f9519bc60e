using System.Net;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Internal;
using Xunit;

namespace QrCalling.Hosting.Tests;

public sealed class ClientKeyHasherTests
{
    private static readonly ClientKeyHasher Hasher = new(Options.Create(new QrCallingHostingOptions()), TimeProvider.System);

    private static string Key(string address) => Hasher.HashAddress(IPAddress.Parse(address));

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:1234:5678:9abc:def0")]
    [InlineData("fe80::1%3", "fe80::2%7")]
    [InlineData("203.0.113.7", "::ffff:203.0.113.7")]
    public void HashAddress_SameClient_SharesOneKey(string a, string b) => Assert.Equal(Key(a), Key(b));

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1")]
    [InlineData("2001:db8:1:2::1", "2001:db9:1:2::1")]
    [InlineData("203.0.113.7", "203.0.113.8")]
    [InlineData("0.0.0.1", "::1")]
    [InlineData("203.0.113.7", "cb00:7107::")]
    public void HashAddress_DifferentClients_GetDifferentKeys(string a, string b) => Assert.NotEqual(Key(a), Key(b));

    [Fact]
    public void HashAddress_Ipv6_NeverHoldsTheAddress()
    {
        var key = Key("2001:db8:1:2::1");
        Assert.StartsWith("ip:", key);
        Assert.DoesNotContain("2001", key);
        Assert.Equal("ip:unknown", Hasher.HashAddress(null));
    }
}
