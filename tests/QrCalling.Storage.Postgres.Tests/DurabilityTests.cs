using System.Net;
using System.Net.Http.Json;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

public sealed class DurabilityTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestDatabase.NewSchemaName();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => PostgresTestDatabase.DropSchemaAsync(_schema);

    [Fact]
    public async Task Host_RestartedOnSameSchema_CodeStillScansAndCallHistoryRemains()
    {
        var connectionString = Testing.TestServers.Postgres;
        string payload, callId;
        await using (var first = await TestHost.StartAsync(connectionString, _schema))
        {
            payload = await first.IssueCodeAsync("Blue van");
            callId = await first.StartCallAsync(payload);
        }

        await using var second = await TestHost.StartAsync(connectionString, _schema);
        using var scan = await second.Client.PostAsJsonAsync("/api/v1/scan", new { payload });

        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        Assert.Equal("Blue van", (await TestHost.ReadJsonAsync(scan)).GetProperty("label").GetString());
        Assert.Contains(callId, await second.HistoryCallIdsAsync());
    }
}
