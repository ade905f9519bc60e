using System.Net;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>Reachability behind the Redis backplane is per instance and conservative: the instance holding the owner's
/// connection says reachable; another instance, which cannot see it, leaves the field out rather than say "not
/// reachable"; messages left through one instance are read through the other (shared storage).</summary>
public sealed class TwoInstanceReachabilityTests
{
    [Fact]
    public async Task OwnerOnA_ScanOnASaysReachable_ScanOnBLeavesItOut()
    {
        var keyPrefix = RedisTestStorage.NewPrefix();
        var channel = "qrtest-" + Guid.NewGuid().ToString("N");
        await using var a = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        await using var b = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        try
        {
            var owner = "alice-" + Guid.NewGuid().ToString("N");
            var code = await a.Client(owner).PostJsonAsync("/api/v1/codes", new { label = "Front door" }, HttpStatusCode.Created);
            var payload = code.GetProperty("payload").GetString();
            await a.ConnectAsync(owner: owner, deviceId: "phone");

            var onA = await a.Client().PostJsonAsync("/api/v1/scan", new { payload }, HttpStatusCode.OK);
            var onB = await b.Client().PostJsonAsync("/api/v1/scan", new { payload }, HttpStatusCode.OK);

            Assert.True(onA.GetProperty("reachable").GetBoolean());
            Assert.False(onB.TryGetProperty("reachable", out _));
            Assert.Equal("Front door", onB.GetProperty("label").GetString());
        }
        finally
        {
            await RedisTestStorage.DeleteAllAsync(keyPrefix);
        }
    }
}
