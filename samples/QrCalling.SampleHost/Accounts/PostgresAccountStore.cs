using System.Net.Sockets;
using Npgsql;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts in small PostgreSQL tables (schema <c>qrcalling_sample</c>: <c>accounts</c>,
/// <c>refresh_families</c>, <c>audit</c>; created or extended on first use) when the sample runs with
/// <c>QrCalling:Storage=postgres</c>. A database that is down or unreachable surfaces as
/// <see cref="StorageUnavailableException"/> (HTTP 503 <c>storage_unavailable</c>).</summary>
public sealed class PostgresAccountStore(string connectionString) : IAccountStore, IAsyncDisposable
{
    private const string Columns = "id, username, password_hash, version, state";
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private bool _schemaReady;

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync("INSERT INTO qrcalling_sample.accounts (id, username, username_key, password_hash, version, state) " +
            "VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT DO NOTHING",
            [account.Id, account.UserName, account.UserName.ToLowerInvariant(), account.PasswordHash, account.StateJson()], ct) == 1, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken) =>
        GuardAsync(ct => FindWhereAsync("username_key = $1", userName.ToLowerInvariant(), ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindByIdAsync(string id, CancellationToken cancellationToken) =>
        GuardAsync(ct => FindWhereAsync("id = $1", id, ct), cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(SampleAccount account, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync("UPDATE qrcalling_sample.accounts SET password_hash = $2, state = $3, version = version + 1 WHERE id = $1 AND version = $4",
            [account.Id, account.PasswordHash, account.StateJson(), account.Version], ct) == 1, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(string id, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync("""
            WITH f AS (DELETE FROM qrcalling_sample.refresh_families WHERE account_id = $1),
                 a AS (DELETE FROM qrcalling_sample.audit WHERE account_id = $1),
                 d AS (DELETE FROM qrcalling_sample.accounts WHERE id = $1 RETURNING id)
            INSERT INTO qrcalling_sample.deleted_accounts (id_hash, deleted_at) SELECT $2, now() FROM d
            ON CONFLICT (id_hash) DO UPDATE SET deleted_at = EXCLUDED.deleted_at
            """, [id, AccountTombstone.Of(id)], ct) == 1, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> IsDeletedAsync(string id, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command("SELECT 1 FROM qrcalling_sample.deleted_accounts WHERE id_hash = $1", [AccountTombstone.Of(id)]);
        return await command.ExecuteScalarAsync(ct) is not null;
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask AddRefreshFamilyAsync(RefreshFamily family, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await ExecuteAsync("INSERT INTO qrcalling_sample.refresh_families (family_id, account_id, token_hash, generation, expires_at) VALUES ($1, $2, $3, $4, $5)",
            [family.FamilyId, family.AccountId, family.TokenHash, family.Generation, family.ExpiresAt], ct);
        return true;
    }, cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask<RefreshFamily?> FindRefreshFamilyAsync(string familyId, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command("SELECT family_id, account_id, token_hash, generation, expires_at FROM qrcalling_sample.refresh_families WHERE family_id = $1", [familyId]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct)
            ? new RefreshFamily(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.GetFieldValue<DateTimeOffset>(4))
            : null;
    }, cancellationToken);

    /// <inheritdoc />
    public ValueTask<bool> TryRotateRefreshAsync(string familyId, string expectedHash, string newHash, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        GuardAsync(async ct => await ExecuteAsync("UPDATE qrcalling_sample.refresh_families SET token_hash = $3, expires_at = $4 WHERE family_id = $1 AND token_hash = $2",
            [familyId, expectedHash, newHash, expiresAt], ct) == 1, cancellationToken);

    /// <inheritdoc />
    public ValueTask DeleteRefreshFamilyAsync(string familyId, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync("DELETE FROM qrcalling_sample.refresh_families WHERE family_id = $1", [familyId], ct), cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask AddAuditAsync(string accountId, AuditEntry entry, int keep, CancellationToken cancellationToken) => GuardAsync(async ct =>
        await ExecuteAsync("""
            WITH i AS (INSERT INTO qrcalling_sample.audit (account_id, at, kind, client) VALUES ($1, $2, $3, $4))
            DELETE FROM qrcalling_sample.audit WHERE account_id = $1 AND seq IN (
                SELECT seq FROM qrcalling_sample.audit WHERE account_id = $1 ORDER BY seq DESC OFFSET $5)
            """, [accountId, entry.At, entry.Kind, entry.Client, Math.Max(0, keep - 1)], ct), cancellationToken).AsVoid();

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<AuditEntry>> ListAuditAsync(string accountId, int limit, CancellationToken cancellationToken) => GuardAsync(async ct =>
    {
        await EnsureSchemaAsync(ct);
        await using var command = Command("SELECT at, kind, client FROM qrcalling_sample.audit WHERE account_id = $1 ORDER BY seq DESC LIMIT $2", [accountId, limit]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<AuditEntry>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new AuditEntry(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2)));
        }
        return (IReadOnlyList<AuditEntry>)list;
    }, cancellationToken);

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

    private async ValueTask<SampleAccount?> FindWhereAsync(string where, string value, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = Command($"SELECT {Columns} FROM qrcalling_sample.accounts WHERE {where}", [value]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? SampleAccount.FromStored(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetInt64(3), reader.IsDBNull(4) ? null : reader.GetString(4))
            : null;
    }

    private static async ValueTask<TResult> GuardAsync<TResult>(Func<CancellationToken, ValueTask<TResult>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action(cancellationToken);
        }
        catch (Exception exception) when (IsOutage(exception))
        {
            throw new StorageUnavailableException("The account database is unavailable.", exception);
        }
    }

    /// <summary>Connection failures, timeouts and transient server errors (shutdown, too many connections); not SQL errors.</summary>
    private static bool IsOutage(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql.IsTransient || npgsql is not PostgresException,
        TimeoutException or SocketException => true,
        _ => false,
    };

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
                // Several instances may start at once, and the admin store creates tables in the same schema: the schema's
                // advisory lock serializes the CREATE ... IF NOT EXISTS statements (run concurrently, PostgreSQL can fail
                // them with a unique violation in its catalog).
                // Accounts made by an earlier version of the sample get the new columns (version 0, no state: defaults).
                await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
                await using var tx = await connection.BeginTransactionAsync(cancellationToken);
                await SampleSchemaLock.AcquireAsync(connection, tx, "qrcalling_sample", cancellationToken);
                await using var command = new NpgsqlCommand("""
                    CREATE SCHEMA IF NOT EXISTS qrcalling_sample;
                    CREATE TABLE IF NOT EXISTS qrcalling_sample.accounts (
                        id text PRIMARY KEY,
                        username text NOT NULL,
                        username_key text NOT NULL UNIQUE,
                        password_hash text NOT NULL);
                    ALTER TABLE qrcalling_sample.accounts ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
                    ALTER TABLE qrcalling_sample.accounts ADD COLUMN IF NOT EXISTS state text NULL;
                    CREATE TABLE IF NOT EXISTS qrcalling_sample.refresh_families (
                        family_id text PRIMARY KEY,
                        account_id text NOT NULL,
                        token_hash text NOT NULL,
                        generation bigint NOT NULL,
                        expires_at timestamptz NOT NULL);
                    CREATE INDEX IF NOT EXISTS refresh_families_account_idx ON qrcalling_sample.refresh_families (account_id);
                    CREATE TABLE IF NOT EXISTS qrcalling_sample.audit (
                        seq bigserial PRIMARY KEY,
                        account_id text NOT NULL,
                        at timestamptz NOT NULL,
                        kind text NOT NULL,
                        client text NOT NULL);
                    CREATE TABLE IF NOT EXISTS qrcalling_sample.deleted_accounts (
                        id_hash text PRIMARY KEY,
                        deleted_at timestamptz NOT NULL);
                    CREATE INDEX IF NOT EXISTS audit_account_idx ON qrcalling_sample.audit (account_id, seq DESC);
                    """, connection, tx);
                await command.ExecuteNonQueryAsync(cancellationToken);
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

internal static class ValueTaskExtensions
{
    public static async ValueTask AsVoid<T>(this ValueTask<T> task) => await task;
}
