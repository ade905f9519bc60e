using System.Net;
using System.Net.Http.Json;
using QrCalling.Calls;
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

    /// <summary>The mailbox tables are UNLOGGED (migration 0003): a clean restart keeps them; a crash empties them while
    /// codes and calls stay, and the seqs of the call's next entries continue past every seq given out before (a client
    /// resuming from its last seq sees a gap, never an old seq again).</summary>
    [Fact]
    public async Task Mailbox_CleanRestartKeepsIt_CrashEmptiesOnlyItAndSeqsContinuePastTheGap()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var dataSource = PostgresDataSourceProvider.Build(postgres.ConnectionString, new PostgresStorageOptions());
        await PostgresMigrator.MigrateAsync(dataSource, "qrcalling");
        var storage = new PostgresStorage(dataSource, "qrcalling", TimeSpan.FromSeconds(10), null);
        var budget = new MailboxBudget(SideBytes: 1 << 20, RingingBytes: 1 << 20);
        var code = TestRecords.Code();
        var call = TestRecords.Call(code.Id);
        var entry = TestRecords.Entry(CallSide.Callee, """{"sdp":"v=0"}""");
        await storage.Codes.CreateAsync(code, CancellationToken.None);
        await storage.Calls.CreateAsync(call, CancellationToken.None);
        Assert.NotNull(await storage.Calls.TryAcceptAsync(call.CallId, "device-1", TestRecords.T0, CancellationToken.None));
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i, (await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Seq);
        }

        await postgres.StopServerAsync();
        await postgres.StartServerAsync();
        dataSource.Clear();

        Assert.Equal([1L, 2L, 3L], (await storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None)).Select(e => e.Seq));
        Assert.Equal(3L * entry.Size, await storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(4, (await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Seq);

        await postgres.CrashServerAsync();
        await postgres.StartServerAsync();
        dataSource.Clear();

        Assert.NotNull(await storage.Codes.FindByKeyAsync(code.KeyHash, CancellationToken.None));
        Assert.Equal(CallState.Active, (await storage.Calls.GetAsync(call.CallId, CancellationToken.None))?.State);
        Assert.Empty(await storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None));
        Assert.Equal(0, await storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));
        var afterCrash = await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None);
        Assert.Equal((1L << 32) + 1, afterCrash.Seq);
        Assert.Equal([afterCrash.Seq], (await storage.Mailbox.ReadAsync(call.CallId, CallSide.Callee, 4, 10, int.MaxValue, CancellationToken.None)).Select(e => e.Seq));
        Assert.Equal((1L << 32) + 2, (await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Seq);
        Assert.Equal(2L * entry.Size, await storage.Mailbox.GetPendingBytesAsync(call.CallId, CallSide.Callee, CancellationToken.None));

        await postgres.CrashServerAsync();
        await postgres.StartServerAsync();
        dataSource.Clear();

        Assert.Equal((2L << 32) + 1, (await storage.Mailbox.AppendAsync(call.CallId, entry, budget, CancellationToken.None)).Seq);
    }
}
