using System.Net.Sockets;
using Npgsql;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts in a small PostgreSQL table (<c>qrcalling_sample.accounts</c>, created on first use) when the
/// sample runs with <c>QrCalling:Storage=postgres</c>. A database that is down or unreachable surfaces as
/// <see cref="StorageUnavailableException"/> (HTTP 503 <c>storage_unavailable</c>).</summary>
public sealed class PostgresAccountStore(string connectionString) : IAccountStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private bool _schemaReady;

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken) =>
        GuardAsync(AddAsync, account, cancellationToken);

    /// <inheritdoc />
    public ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken) =>
        GuardAsync(FindCoreAsync, userName, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static async ValueTask<TResult> GuardAsync<TArg, TResult>(Func<TArg, CancellationToken, ValueTask<TResult>> action, TArg arg, CancellationToken cancellationToken)
    {
        try
        {
            return await action(arg, cancellationToken);
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

    private async ValueTask<bool> AddAsync(SampleAccount account, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand(
            "INSERT INTO qrcalling_sample.accounts (id, username, username_key, password_hash) VALUES ($1, $2, $3, $4) ON CONFLICT (username_key) DO NOTHING");
        command.Parameters.Add(new() { Value = account.Id });
        command.Parameters.Add(new() { Value = account.UserName });
        command.Parameters.Add(new() { Value = account.UserName.ToLowerInvariant() });
        command.Parameters.Add(new() { Value = account.PasswordHash });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private async ValueTask<SampleAccount?> FindCoreAsync(string userName, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand("SELECT id, username, password_hash FROM qrcalling_sample.accounts WHERE username_key = $1");
        command.Parameters.Add(new() { Value = userName.ToLowerInvariant() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new SampleAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
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
                await using var command = _dataSource.CreateCommand("""
                    CREATE SCHEMA IF NOT EXISTS qrcalling_sample;
                    CREATE TABLE IF NOT EXISTS qrcalling_sample.accounts (
                        id text PRIMARY KEY,
                        username text NOT NULL,
                        username_key text NOT NULL UNIQUE,
                        password_hash text NOT NULL);
                    """);
                await command.ExecuteNonQueryAsync(cancellationToken);
                Volatile.Write(ref _schemaReady, true);
            }
        }
        finally
        {
            _schemaLock.Release();
        }
    }
}
