using System.Net.Sockets;
using Npgsql;
using QrCalling.SampleHost.Accounts;

namespace QrCalling.SampleHost.Admin;

/// <summary>The admin data in PostgreSQL tables (schema <c>qrcalling_sample</c> by default: <c>admin_settings</c>,
/// <c>feedback</c>, <c>waitlist</c>, <c>analytics_hourly</c>), created on first use by the embedded
/// <c>Admin/Migrations/0010_admin_settings.sql</c>. A database that is down surfaces as
/// <see cref="StorageUnavailableException"/> (HTTP 503 <c>storage_unavailable</c>).</summary>
public sealed class PostgresAdminStore : IAdminStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schemaName;
    private readonly string _schema; // quoted, for the SQL
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private bool _schemaReady;

    /// <summary>A store on a connection string, in <paramref name="schema"/> (a lower-case identifier).</summary>
    public PostgresAdminStore(string connectionString, string schema = "qrcalling_sample")
    {
        if (!System.Text.RegularExpressions.Regex.IsMatch(schema, "^[a-z_][a-z0-9_]{0,62}$"))
        {
            throw new ArgumentException("The schema must be a lower-case identifier.", nameof(schema));
        }
        _schemaName = schema;
        _schema = "\"" + schema + "\"";
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    /// <inheritdoc />
    public ValueTask<AdminSettings> GetSettingsAsync(CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command($"SELECT settings FROM {_schema}.admin_settings WHERE id = 1", []);
        return AdminSettings.FromJson(await command.ExecuteScalarAsync(ct) as string);
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask SaveSettingsAsync(AdminSettings settings, CancellationToken cancellationToken) => GuardAsync(ct =>
        ExecuteAsync($"INSERT INTO {_schema}.admin_settings (id, settings) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET settings = EXCLUDED.settings",
            [settings.ToJson()], ct), cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask AddFeedbackAsync(FeedbackEntry entry, int keep, CancellationToken cancellationToken) => GuardAsync(ct =>
        ExecuteAsync($"""
            WITH i AS (INSERT INTO {_schema}.feedback (id, at, message, contact) VALUES ($1, $2, $3, $4))
            DELETE FROM {_schema}.feedback WHERE seq IN (SELECT seq FROM {_schema}.feedback ORDER BY seq DESC OFFSET $5)
            """, [entry.Id, entry.At.ToUniversalTime(), entry.Message, (object?)entry.Contact ?? DBNull.Value, Math.Max(0, keep - 1)], ct), cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FeedbackEntry>> ListFeedbackAsync(int limit, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command($"SELECT id, at, message, contact FROM {_schema}.feedback ORDER BY seq DESC LIMIT $1", [limit]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<FeedbackEntry>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new FeedbackEntry(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
        return (IReadOnlyList<FeedbackEntry>)list;
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteFeedbackAsync(string id, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync($"DELETE FROM {_schema}.feedback WHERE id = $1", [id], ct) > 0, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> AddWaitlistAsync(WaitlistEntry entry, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync($"INSERT INTO {_schema}.waitlist (id, email_key, email, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            [entry.Id, entry.Email.ToLowerInvariant(), entry.Email, entry.At.ToUniversalTime()], ct) == 1, cancellationToken);

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<WaitlistEntry>> ListWaitlistAsync(int limit, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command($"SELECT id, at, email FROM {_schema}.waitlist ORDER BY at DESC, id LIMIT $1", [limit]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<WaitlistEntry>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new WaitlistEntry(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetString(2)));
        }
        return (IReadOnlyList<WaitlistEntry>)list;
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteWaitlistAsync(string id, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync($"DELETE FROM {_schema}.waitlist WHERE id = $1", [id], ct) > 0, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> DeleteWaitlistBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => GuardAsync(ct =>
        ExecuteAsync($"DELETE FROM {_schema}.waitlist WHERE at < $1", [cutoff.ToUniversalTime()], ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask AddAnalyticsAsync(IReadOnlyList<AnalyticsBucket> increments, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        if (increments.Count == 0)
        {
            return 0;
        }
        // One statement: every bucket is added to its row (created at 0) atomically.
        return await ExecuteAsync($"""
            INSERT INTO {_schema}.analytics_hourly (hour, metric, outcome, count)
            SELECT h, m, o, c FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[]) AS t(h, m, o, c)
            ON CONFLICT (hour, metric, outcome) DO UPDATE SET count = {_schema}.analytics_hourly.count + EXCLUDED.count
            """, [increments.Select(b => b.Hour.ToUniversalTime()).ToArray(), increments.Select(b => b.Metric).ToArray(),
                increments.Select(b => b.Outcome).ToArray(), increments.Select(b => b.Count).ToArray()], ct);
    }, cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AnalyticsBucket>> ListAnalyticsAsync(DateTimeOffset from, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command($"SELECT hour, metric, outcome, count FROM {_schema}.analytics_hourly WHERE hour >= $1 ORDER BY hour, metric COLLATE \"C\", outcome COLLATE \"C\"",
            [from.ToUniversalTime()]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<AnalyticsBucket>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new AnalyticsBucket(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3)));
        }
        return (IReadOnlyList<AnalyticsBucket>)list;
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> DeleteAnalyticsBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) => GuardAsync(ct =>
        ExecuteAsync($"DELETE FROM {_schema}.analytics_hourly WHERE hour < $1", [cutoff.ToUniversalTime()], ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private NpgsqlCommand Command(string sql, object[] values)
    {
        var command = _dataSource.CreateCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new() { Value = value });
        }
        return command;
    }

    private async ValueTask<int> ExecuteAsync(string sql, object[] values, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = Command(sql, values);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async ValueTask<TResult> GuardAsync<TResult>(Func<CancellationToken, ValueTask<TResult>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action(cancellationToken);
        }
        catch (Exception exception) when (exception switch
        {
            NpgsqlException npgsql => npgsql.IsTransient || npgsql is not PostgresException,
            TimeoutException or SocketException => true,
            _ => false,
        })
        {
            throw new StorageUnavailableException("The admin database is unavailable.", exception);
        }
    }

    /// <summary>The migration's SQL, embedded in the sample's assembly.</summary>
    internal static string MigrationSql()
    {
        using var stream = typeof(PostgresAdminStore).Assembly.GetManifestResourceStream("QrCalling.SampleHost.Admin.Migrations.0010_admin_settings.sql")
            ?? throw new InvalidOperationException("The embedded migration 0010_admin_settings.sql is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private async ValueTask EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _schemaReady))
        {
            return;
        }
        await _schemaLock.WaitAsync(cancellationToken);
        try
        {
            if (!_schemaReady)
            {
                // Several instances may start at once, and the account store creates tables in the same schema: one advisory lock
                // per schema serializes their CREATE ... IF NOT EXISTS statements.
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                await using var tx = await connection.BeginTransactionAsync(cancellationToken);
                await Accounts.SampleSchemaLock.AcquireAsync(connection, tx, _schemaName, cancellationToken);
                await using (var command = new NpgsqlCommand(MigrationSql().Replace("{schema}", _schema, StringComparison.Ordinal), connection, tx))
                {
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }
                await tx.CommitAsync(cancellationToken);
                Volatile.Write(ref _schemaReady, true);
            }
        }
        finally
        {
            _schemaLock.Release();
        }
    }
}
