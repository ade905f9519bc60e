using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using QrCalling.Calls;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>What is PostgreSQL's own in the mailbox window (migration 0003): the migration of a version-2 schema that
/// has entries, the tables' persistence, and the plans of the reads and acknowledgements.</summary>
public sealed class MailboxWindowTests : IAsyncLifetime
{
    private static readonly MailboxBudget Budget = new(SideBytes: 1 << 20, RingingBytes: 1 << 20);
    private readonly string _schema = PostgresTestDatabase.NewSchemaName();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => PostgresTestDatabase.DropSchemaAsync(_schema);

    [Fact]
    public async Task Migrate_FromVersion2WithMailboxRows_ChargesTheirBytesKeepsSeqsAndServesTheNewContract()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema, 2, NullLogger.Instance, CancellationToken.None);
        var storage = PostgresTestDatabase.Storage(_schema);
        var active = TestRecords.Call();
        var ringing = TestRecords.Call();
        var quiet = TestRecords.Call();
        foreach (var call in new[] { active, ringing, quiet })
        {
            // Rows as version 2 stored them (today's call store writes columns that later migrations add).
            await InsertVersion2CallAsync(call, accepted: call == active);
        }
        // Entries as version 2 stored them (nothing acknowledged, no sizes), with non-ASCII data.
        var toCallee = TestRecords.Entry(CallSide.Callee, """{"sdp":"v=0 héllo 👋"}""");
        var toCaller = TestRecords.Entry(CallSide.Caller, """{"sdp":"answer"}""");
        var lifecycle = TestRecords.Entry(null, "{}") with { Type = "call-accepted", From = "server" };
        await InsertVersion2EntriesAsync(active.CallId, toCallee, toCaller, lifecycle, toCallee);
        await InsertVersion2EntriesAsync(ringing.CallId, toCallee);

        var applied = await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);

        Assert.Equal(PostgresMigrator.Versions.Count(v => v > 2), applied);
        Assert.Equal(MediaKinds.All, (await storage.Calls.GetAsync(quiet.CallId, CancellationToken.None))!.CodeMedia);
        Assert.Equal(CallState.Active, (await storage.Calls.GetAsync(active.CallId, CancellationToken.None))!.State);
        Assert.Equal(2L * toCallee.Size, await storage.Mailbox.GetPendingBytesAsync(active.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(toCaller.Size, await storage.Mailbox.GetPendingBytesAsync(active.CallId, CallSide.Caller, CancellationToken.None));
        Assert.Equal(toCallee.Size, await storage.Mailbox.GetPendingBytesAsync(ringing.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(0, await storage.Mailbox.GetPendingBytesAsync(quiet.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(4, await storage.Mailbox.GetLastSeqAsync(active.CallId, CancellationToken.None));
        Assert.Equal([1L, 1L, 0L, 0L], await EpochsAsync(active.CallId, ringing.CallId, quiet.CallId, "no-such-call"));

        // The migrated entries live on in the new contract: seqs continue, sides read their own, acknowledgements free.
        Assert.Equal(5, (await storage.Mailbox.AppendAsync(active.CallId, toCaller, Budget, CancellationToken.None)).Seq);
        Assert.Equal(2, (await storage.Mailbox.AppendAsync(ringing.CallId, toCallee, Budget, CancellationToken.None)).Seq);
        Assert.Equal(1, (await storage.Mailbox.AppendAsync(quiet.CallId, toCallee, Budget, CancellationToken.None)).Seq);
        var callee = await storage.Mailbox.ReadAsync(active.CallId, CallSide.Callee, 0, 10, int.MaxValue, CancellationToken.None);
        Assert.Equal([1L, 3L, 4L], callee.Select(e => e.Seq));
        Assert.Equal(toCallee.DataJson, callee[0].DataJson);
        Assert.Equal(2, await storage.Mailbox.AcknowledgeAsync(active.CallId, CallSide.Callee, 4, CancellationToken.None));
        Assert.Equal(0, await storage.Mailbox.GetPendingBytesAsync(active.CallId, CallSide.Callee, CancellationToken.None));
        Assert.Equal(2L * toCaller.Size, await storage.Mailbox.GetPendingBytesAsync(active.CallId, CallSide.Caller, CancellationToken.None));
        Assert.Equal([2L, 3L, 5L], (await storage.Mailbox.ReadAsync(active.CallId, CallSide.Caller, 0, 10, int.MaxValue, CancellationToken.None)).Select(e => e.Seq));
    }

    [Fact]
    public async Task Migrate_Latest_MailboxTablesAreUnloggedAndCodesAndCallsAreNot()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);

        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand(
            "SELECT relname::text, relpersistence::text FROM pg_class WHERE relnamespace = @s::regnamespace AND relkind IN ('r', 'i') ORDER BY 1");
        cmd.Parameters.AddWithValue("s", _schema);
        var persistence = new Dictionary<string, string>();
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                persistence[reader.GetString(0)] = reader.GetString(1);
            }
        }

        Assert.All(new[] { "mailbox", "mailbox_pkey", "mailbox_side_idx", "mailbox_heads", "mailbox_heads_pkey" },
            name => Assert.Equal("u", persistence[name]));
        Assert.All(new[] { "codes", "calls", "schema_version", "calls_pkey", "codes_pkey" }, name => Assert.Equal("p", persistence[name]));
    }

    [Fact]
    public async Task MailboxReadAndAcknowledge_OnAFilledTable_AreRangeScansOfTheSideIndex()
    {
        await PostgresMigrator.MigrateAsync(PostgresTestDatabase.DataSource, _schema);
        // 300 calls x 100 entries: each side about half, one lifecycle entry in 50.
        await ExecuteAsync($$"""
            INSERT INTO "{{_schema}}".mailbox (call_id, seq, type, sender, recipient, data, at)
            SELECT 'call' || c, n, 'ice-candidate', 'x',
                   CASE WHEN n % 50 = 0 THEN NULL WHEN n % 2 = 1 THEN 'caller' ELSE 'callee' END,
                   '{"candidate":"a=candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host"}', now()
            FROM generate_series(1, 300) c, generate_series(1, 100) n;
            ANALYZE "{{_schema}}".mailbox;
            """);
        var store = (PostgresMailboxStore)PostgresTestDatabase.Storage(_schema).Mailbox;

        // Both plans: the custom one (planned with the values) and the generic one a prepared statement may settle on.
        var reads = await ExplainAsync(store.ReadSql, ("id", "text", "'call77'"), ("side", "text", "'caller'"), ("after", "bigint", "20"), ("n", "integer", "500"));
        var acknowledges = await ExplainAsync(store.AcknowledgeSql(CallSide.Callee), ("id", "text", "'call77'"), ("upTo", "bigint", "60"));

        Assert.All(reads, plan =>
        {
            Assert.Contains("Merge Append", plan, StringComparison.Ordinal);
            Assert.Equal(2, CountOf(plan, "mailbox_side_idx"));
            Assert.Contains("(call_id = ", plan, StringComparison.Ordinal);
            Assert.Contains("(recipient = ", plan, StringComparison.Ordinal);
            Assert.Contains("(recipient IS NULL)", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("mailbox_pkey", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan", plan, StringComparison.Ordinal);
        });
        Assert.All(acknowledges, plan =>
        {
            Assert.Contains("mailbox_side_idx", plan, StringComparison.Ordinal);
            Assert.Contains("(recipient = 'callee'::text)", plan, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan on mailbox", plan, StringComparison.Ordinal);
        });
    }

    private static int CountOf(string text, string part)
    {
        var count = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + 1, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }

    /// <summary>The custom and the generic plan of a store statement (its @name parameters given as SQL literals).</summary>
    private static async Task<string[]> ExplainAsync(string sql, params (string Name, string Type, string Literal)[] parameters)
    {
        var prepared = sql;
        for (var i = 0; i < parameters.Length; i++)
        {
            prepared = Regex.Replace(prepared, "@" + parameters[i].Name + @"\b", "$" + (i + 1));
        }
        var types = string.Join(", ", parameters.Select(p => p.Type));
        var values = string.Join(", ", parameters.Select(p => p.Literal));
        await using var connection = await PostgresTestDatabase.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync(); // one physical connection (multiplexing)
        var plans = new string[2];
        for (var i = 0; i < plans.Length; i++)
        {
            var mode = i == 0 ? "force_custom_plan" : "force_generic_plan";
            await using (var prepare = new NpgsqlCommand($"SET LOCAL plan_cache_mode = {mode}; PREPARE plan_check ({types}) AS {prepared}", connection, transaction))
            {
                await prepare.ExecuteNonQueryAsync();
            }
            await using (var explain = new NpgsqlCommand($"EXPLAIN (COSTS OFF) EXECUTE plan_check ({values})", connection, transaction))
            await using (var reader = await explain.ExecuteReaderAsync())
            {
                var lines = new List<string>();
                while (await reader.ReadAsync())
                {
                    lines.Add(reader.GetString(0));
                }
                plans[i] = string.Join('\n', lines);
            }
            await using var deallocate = new NpgsqlCommand("DEALLOCATE plan_check", connection, transaction);
            await deallocate.ExecuteNonQueryAsync();
        }
        await transaction.RollbackAsync();
        return plans;
    }

    /// <summary>Appends as version 2 did: the head's last seq bumped, the entry inserted with it.</summary>
    private async Task InsertVersion2CallAsync(CallRecord call, bool accepted)
    {
        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand($"""
            INSERT INTO "{_schema}".calls (call_id, code_id, owner_id, caller_id, callee_id, call_token_hash, label, media, state,
              created_at, ring_expires_at, expires_at, answered_at, accepted_device_id)
            VALUES (@id, @code, @owner, @caller, @callee, @token, @label, @media, @state, @created, @ring, @expires, @answered, @device)
            """);
        cmd.Parameters.AddWithValue("id", call.CallId);
        cmd.Parameters.AddWithValue("code", call.CodeId);
        cmd.Parameters.AddWithValue("owner", call.OwnerId);
        cmd.Parameters.AddWithValue("caller", call.CallerId);
        cmd.Parameters.AddWithValue("callee", call.CalleeId);
        cmd.Parameters.AddWithValue("token", call.CallTokenHash);
        cmd.Parameters.AddWithValue("label", call.Label);
        cmd.Parameters.AddWithValue("media", (int)call.Media);
        cmd.Parameters.AddWithValue("state", accepted ? "active" : "ringing");
        cmd.Parameters.AddWithValue("created", call.CreatedAt);
        cmd.Parameters.AddWithValue("ring", call.RingExpiresAt);
        cmd.Parameters.AddWithValue("expires", call.ExpiresAt);
        cmd.Parameters.AddWithValue("answered", accepted ? call.CreatedAt : DBNull.Value);
        cmd.Parameters.AddWithValue("device", accepted ? "device-1" : DBNull.Value);
        await cmd.ExecuteNonQueryAsync();
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand(sql);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task InsertVersion2EntriesAsync(string callId, params MailboxEntry[] entries)
    {
        foreach (var entry in entries)
        {
            await using var cmd = PostgresTestDatabase.DataSource.CreateCommand($"""
                WITH head AS (
                  INSERT INTO "{_schema}".mailbox_heads AS h (call_id, last_seq) VALUES (@id, 1)
                  ON CONFLICT (call_id) DO UPDATE SET last_seq = h.last_seq + 1
                  RETURNING last_seq)
                INSERT INTO "{_schema}".mailbox (call_id, seq, type, sender, recipient, data, at)
                SELECT @id, last_seq, @type, @from, @to, @data, @at FROM head
                """);
            cmd.Parameters.AddWithValue("id", callId);
            cmd.Parameters.AddWithValue("type", entry.Type);
            cmd.Parameters.AddWithValue("from", entry.From);
            cmd.Parameters.AddWithValue("to", entry.To switch { CallSide.Caller => "caller", CallSide.Callee => "callee", _ => DBNull.Value });
            cmd.Parameters.AddWithValue("data", entry.DataJson);
            cmd.Parameters.AddWithValue("at", entry.At);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    private async Task<List<long>> EpochsAsync(params string[] callIds)
    {
        var epochs = new List<long>();
        foreach (var callId in callIds)
        {
            await using var cmd = PostgresTestDatabase.DataSource.CreateCommand($"SELECT mailbox_epoch FROM \"{_schema}\".calls WHERE call_id = @id");
            cmd.Parameters.AddWithValue("id", callId);
            epochs.Add(await cmd.ExecuteScalarAsync() is int epoch ? epoch : 0);
        }
        return epochs;
    }

    private static async Task ExecuteAsync(string sql)
    {
        await using var cmd = PostgresTestDatabase.DataSource.CreateCommand(sql);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>Records for the Postgres-only tests.</summary>
internal static class TestRecords
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static CodeRecord Code() => new()
    {
        Id = "code_" + Guid.NewGuid().ToString("N"), OwnerId = "owner-1", KeyHash = RandomNumberGenerator.GetBytes(32), CreatedAt = T0, Label = "Gate",
    };

    public static CallRecord Call(string? codeId = null) => new()
    {
        CallId = "call_" + Guid.NewGuid().ToString("N"), CodeId = codeId ?? "code-1", OwnerId = "owner-1", CallerId = "caller-1", CalleeId = "callee-1",
        CallTokenHash = RandomNumberGenerator.GetBytes(32), Label = "Gate", Media = MediaKind.Audio,
        CreatedAt = T0, RingExpiresAt = T0.AddSeconds(30), ExpiresAt = T0.AddHours(2),
    };

    public static MailboxEntry Entry(CallSide? to, string dataJson) => new()
    {
        Type = "offer", From = to == CallSide.Caller ? "callee-1" : "caller-1", To = to, DataJson = dataJson, At = T0,
    };
}
