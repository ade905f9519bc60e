using Npgsql;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Accounts in a small PostgreSQL table (<c>qrcalling_sample.accounts</c>, created on first use) when the
/// sample runs with <c>QrCalling:Storage=postgres</c>.</summary>
public sealed class PostgresAccountStore(string connectionString) : IAccountStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);
    private readonly SemaphoreSlim _schemaLock = new(1, 1);
    private bool _schemaReady;

    /// <inheritdoc />
    public async ValueTask<bool> TryAddAsync(SampleAccount account, CancellationToken cancellationToken)
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

    /// <inheritdoc />
    public async ValueTask<SampleAccount?> FindAsync(string userName, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync(cancellationToken);
        await using var command = _dataSource.CreateCommand("SELECT id, username, password_hash FROM qrcalling_sample.accounts WHERE username_key = $1");
        command.Parameters.Add(new() { Value = userName.ToLowerInvariant() });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new SampleAccount(reader.GetString(0), reader.GetString(1), reader.GetString(2)) : null;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

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
