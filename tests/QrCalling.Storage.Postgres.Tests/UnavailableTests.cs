using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;
using QrCalling.Calls;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>A database that cannot be reached surfaces as <see cref="StorageUnavailableException"/>, fast.</summary>
public sealed class UnavailableTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private PostgresStorage _storage = null!;

    public Task InitializeAsync()
    {
        // A loopback port nobody listens on: connecting is refused at once.
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = FreePort(), Username = "postgres", Database = "postgres",
        }.ConnectionString;
        _dataSource = PostgresDataSourceProvider.Build(connectionString, new PostgresStorageOptions());
        _storage = new PostgresStorage(_dataSource, "qrcalling", TimeSpan.FromSeconds(2), null);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    [Fact]
    public async Task EveryOperation_ServerUnreachable_ThrowsStorageUnavailableQuickly()
    {
        var key = new byte[32];
        var stopwatch = Stopwatch.StartNew();
        var entry = new MailboxEntry { Type = "offer", From = "x", To = CallSide.Callee, DataJson = "{}", At = DateTimeOffset.UnixEpoch };
        var budget = new MailboxBudget(SideBytes: 1 << 20, RingingBytes: 1 << 20);
        Func<Task>[] operations =
        [
            async () => await _storage.PingAsync(default),
            async () => await _storage.Codes.FindByKeyAsync(key, default),
            async () => await _storage.Codes.TryCountScanAsync(key, DateTimeOffset.UnixEpoch, default),
            async () => await _storage.Codes.ListByOwnerAsync("o", default).ToListAsync(),
            async () => await _storage.Calls.TryAcceptAsync("c", "d", DateTimeOffset.UnixEpoch, default),
            async () => await _storage.Calls.ListOpenAsync(10, default).ToListAsync(),
            async () => await _storage.Mailbox.AppendAsync("c", entry, budget, default),
            async () => await _storage.Mailbox.AppendAsync("c", entry with { To = null }, budget, default),
            async () => await _storage.Mailbox.ReadAsync("c", CallSide.Callee, 0, 10, int.MaxValue, default),
            async () => await _storage.Mailbox.AcknowledgeAsync("c", CallSide.Callee, 1, default),
            async () => await _storage.Mailbox.GetPendingBytesAsync("c", CallSide.Callee, default),
        ];

        foreach (var operation in operations)
        {
            var ex = await Assert.ThrowsAsync<StorageUnavailableException>(operation);
            Assert.Equal(QrCallingErrorCodes.StorageUnavailable, ex.Code);
            Assert.IsAssignableFrom<NpgsqlException>(ex.InnerException);
        }
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task MigrateAsync_ServerUnreachable_ThrowsStorageUnavailable()
    {
        await Assert.ThrowsAsync<StorageUnavailableException>(() => PostgresMigrator.MigrateAsync(_dataSource, "qrcalling"));
    }

    [Theory]
    [InlineData("57P01", true)]
    [InlineData("08006", true)]
    [InlineData("53300", true)]
    [InlineData("23505", false)]
    [InlineData("42P01", false)]
    public void IsUnavailableState_SqlState_ClassifiesOutages(string sqlState, bool expected)
    {
        Assert.Equal(expected, PostgresDatabase.IsUnavailableState(sqlState));
    }

    [Fact]
    public void IsUnavailable_CallerCanceled_IsNotAnOutage()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();

        Assert.False(PostgresDatabase.IsUnavailable(new OperationCanceledException(cts.Token), cts.Token));
        Assert.True(PostgresDatabase.IsUnavailable(new NpgsqlException("broken", new TimeoutException()), CancellationToken.None));
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
