using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

public sealed class MigrationTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestDatabase.NewSchemaName();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => PostgresTestDatabase.DropSchemaAsync(_schema);

    [Fact]
    public async Task MigrateAsync_RunTwice_SecondRunAppliesNothing()
    {
        var first = await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);
        var second = await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);

        Assert.Equal(PostgresMigrator.Versions.Count, first);
        Assert.Equal(0, second);
        Assert.Equal(PostgresMigrator.Versions, await AppliedVersionsAsync());
    }

    [Fact]
    public async Task MigrateAsync_FiveInParallelOnFreshSchema_AppliesEachVersionOnceWithoutError()
    {
        using var start = new ManualResetEventSlim();
        var runs = Enumerable.Range(0, 5).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);
        })).ToArray();
        start.Set();
        var applied = await Task.WhenAll(runs);

        Assert.Equal(PostgresMigrator.Versions.Count, applied.Sum());
        Assert.Equal(PostgresMigrator.Versions, await AppliedVersionsAsync());
        Assert.Equal(new[] { "backup_heads", "backups", "call_callers", "caller_blocks", "calls", "code_policies", "codes", "delegate_invitations", "delegate_rings", "delegates", "device_pairings", "devices", "mailbox", "mailbox_heads", "message_keys", "messages", "push_subscriptions", "push_vapid_keys", "room_tokens", "rooms", "schema_version" }, await TablesAsync());
    }

    [Fact]
    public async Task ListOpen_SweepQuery_UsesTheDeadlineIndex()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);
        await using var connection = await PostgresTestDatabase.DataSource.OpenConnectionAsync();
        await using (var off = new NpgsqlCommand("SET enable_seqscan = off", connection))
        {
            await off.ExecuteNonQueryAsync();
        }

        await using var explain = new NpgsqlCommand($"""
            EXPLAIN SELECT call_id FROM "{_schema}".calls WHERE state <> 'ended'
            ORDER BY LEAST(CASE WHEN state = 'ringing' THEN ring_expires_at ELSE expires_at END, caller_gone_since, callee_gone_since),
              call_id COLLATE "C" LIMIT 10
            """, connection);
        var plan = string.Join("\n", await ReadAllAsync(explain));

        Assert.Contains("calls_open_deadline_idx", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("Sort", plan, StringComparison.Ordinal);
    }

    private static async Task<List<string>> ReadAllAsync(NpgsqlCommand command)
    {
        await using var reader = await command.ExecuteReaderAsync();
        var list = new List<string>();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }

    [Fact]
    public async Task Migrate_FromVersion11WithRingMarks_SetsDelegatesRungOnTheCallsThatRangADelegateOnly()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema, 11, NullLogger.Instance, CancellationToken.None);
        var rung = TestRecords.Call();
        var quiet = TestRecords.Call();
        foreach (var call in new[] { rung, quiet })
        {
            await using var insert = PostgresTestDatabase.DataSource.CreateCommand($"""
                INSERT INTO "{_schema}".calls (call_id, code_id, owner_id, caller_id, callee_id, call_token_hash, label, media, state,
                  created_at, ring_expires_at, expires_at)
                VALUES (@id, @code, @owner, 'caller-1', 'callee-1', @token, 'Gate', 1, 'ringing', @created, @ring, @expires)
                """);
            insert.Parameters.AddWithValue("id", call.CallId);
            insert.Parameters.AddWithValue("code", call.CodeId);
            insert.Parameters.AddWithValue("owner", call.OwnerId);
            insert.Parameters.AddWithValue("token", call.CallTokenHash);
            insert.Parameters.AddWithValue("created", call.CreatedAt);
            insert.Parameters.AddWithValue("ring", call.RingExpiresAt);
            insert.Parameters.AddWithValue("expires", call.ExpiresAt);
            await insert.ExecuteNonQueryAsync();
        }
        await using (var mark = PostgresTestDatabase.DataSource.CreateCommand($"""
            INSERT INTO "{_schema}".delegate_rings (call_id, delegate_id, delegate_owner_id, expires_at) VALUES (@id, 'dlg_1', 'acct-1', @expires)
            """))
        {
            mark.Parameters.AddWithValue("id", rung.CallId);
            mark.Parameters.AddWithValue("expires", rung.ExpiresAt);
            await mark.ExecuteNonQueryAsync();
        }

        Assert.Equal(PostgresMigrator.Versions.Count(v => v > 11), await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema));

        var storage = PostgresTestDatabase.Storage(_schema);
        Assert.True((await storage.Calls.GetAsync(rung.CallId, CancellationToken.None))!.DelegatesRung);
        Assert.False((await storage.Calls.GetAsync(quiet.CallId, CancellationToken.None))!.DelegatesRung);
    }

    [Fact]
    public async Task MigrateAsync_SchemaNotAnIdentifier_ThrowsArgumentException()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, "x\"; DROP TABLE y; --"));
        await Assert.ThrowsAsync<ArgumentException>(() => PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, "Upper"));
    }

    [Fact]
    public async Task Migrations_LookupPaths_HaveIndexes()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);

        var indexes = await ScalarListAsync("SELECT indexdef FROM pg_indexes WHERE schemaname = @s");

        Assert.Contains(indexes, i => i.Contains("UNIQUE INDEX codes_key_hash_key", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("(owner_id, created_at DESC)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("UNIQUE INDEX calls_call_token_hash_key", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("calls_open_deadline_idx", StringComparison.Ordinal) && i.Contains("WHERE (state <> 'ended'", StringComparison.Ordinal));
        Assert.DoesNotContain(indexes, i => i.Contains("calls_open_idx", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("calls_open_code_idx", StringComparison.Ordinal) && i.Contains("(code_id)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("calls_ended_idx", StringComparison.Ordinal) && i.Contains("(ended_at)", StringComparison.Ordinal));
        Assert.Contains(indexes, i => i.Contains("mailbox_side_idx", StringComparison.Ordinal) && i.Contains("(call_id, recipient, seq)", StringComparison.Ordinal));
    }

    private async Task<List<int>> AppliedVersionsAsync()
    {
        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand($"SELECT version FROM \"{_schema}\".schema_version ORDER BY version");
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<int>();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetInt32(0));
        }
        return list;
    }

    private Task<List<string>> TablesAsync() => ScalarListAsync("SELECT tablename::text FROM pg_tables WHERE schemaname = @s ORDER BY 1");

    private async Task<List<string>> ScalarListAsync(string sql)
    {
        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand(sql);
        cmd.Parameters.Add(new NpgsqlParameter("s", _schema));
        await using var reader = await cmd.ExecuteReaderAsync();
        var list = new List<string>();
        while (await reader.ReadAsync())
        {
            list.Add(reader.GetString(0));
        }
        return list;
    }
}
