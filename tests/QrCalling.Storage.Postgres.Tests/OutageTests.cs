using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>PostgreSQL stops mid-run: the host answers 503 storage_unavailable at once, and recovers on its own when
/// the server is back, with nothing lost. Uses a private server so the shared one is untouched.</summary>
public sealed class OutageTests
{
    [Fact]
    public async Task Host_PostgresStoppedThenStarted_Fails503FastThenRecoversWithoutRestart()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var host = await TestHost.StartAsync(postgres.ConnectionString, "qrcalling");
        var payload = await host.IssueCodeAsync("Garage");
        var callId = await host.StartCallAsync(payload);
        Assert.Equal(HttpStatusCode.OK, await ReadyAsync(host));

        await postgres.StopServerAsync();
        var stopwatch = Stopwatch.StartNew();
        using (var scan = await host.Client.PostAsJsonAsync("/api/v1/scan", new { payload }))
        {
            await AssertStorageUnavailableAsync(scan);
        }
        using (var issue = await host.Client.SendAsync(host.Owner(HttpMethod.Post, "/api/v1/codes", new { label = "x" })))
        {
            await AssertStorageUnavailableAsync(issue);
        }
        using (var history = await host.Client.SendAsync(host.Owner(HttpMethod.Get, "/api/v1/calls")))
        {
            await AssertStorageUnavailableAsync(history);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await ReadyAsync(host));
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"Failing took {stopwatch.Elapsed}.");

        await postgres.StartServerAsync();
        var deadline = Stopwatch.StartNew();
        while (await ReadyAsync(host) != HttpStatusCode.OK)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "The host did not become ready again.");
            await Task.Delay(100);
        }

        using var again = await host.Client.PostAsJsonAsync("/api/v1/scan", new { payload });
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal([callId], await host.HistoryCallIdsAsync());
        using var codes = await host.Client.SendAsync(host.Owner(HttpMethod.Get, "/api/v1/codes"));
        Assert.Equal(["Garage"], (await TestHost.ReadJsonAsync(codes)).EnumerateArray().Select(c => c.GetProperty("label").GetString()));
    }

    private static async Task<HttpStatusCode> ReadyAsync(TestHost host)
    {
        using var response = await host.Client.GetAsync("/health/ready");
        return response.StatusCode;
    }

    private static async Task AssertStorageUnavailableAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("storage_unavailable", (await TestHost.ReadJsonAsync(response)).GetProperty("code").GetString());
    }
}
