using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace QrCalling.Storage.Postgres;

/// <summary>What the three stores share: the data source, the quoted schema, the command timeout, and the translation
/// of "the database is down" failures into <see cref="StorageUnavailableException"/>.</summary>
internal sealed class PostgresDatabase
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly int _commandTimeoutSeconds;
    private readonly ILogger _logger;

    public PostgresDatabase(NpgsqlDataSource dataSource, string schema, TimeSpan commandTimeout, ILogger logger)
    {
        _dataSource = dataSource;
        Schema = PostgresMigrator.QuoteSchema(schema);
        _commandTimeoutSeconds = PostgresDataSourceProvider.Seconds(commandTimeout);
        _logger = logger;
    }

    /// <summary>The schema, validated and quoted, for building SQL text.</summary>
    public string Schema { get; }

    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>The command timeout in seconds (for commands and batches built outside this class).</summary>
    public int CommandTimeoutSeconds => _commandTimeoutSeconds;

    private NpgsqlCommand Command(string sql)
    {
        var command = _dataSource.CreateCommand(sql);
        command.CommandTimeout = _commandTimeoutSeconds;
        return command;
    }

    /// <summary>A command for <paramref name="sql"/> (written with <c>@name</c> parameters) with <paramref name="parameters"/>,
    /// which belong to this one execution: in the statement's positional form (<see cref="PositionalStatement"/>) when they
    /// match its names, otherwise as given.</summary>
    internal NpgsqlCommand Command(string sql, NpgsqlParameter[] parameters)
    {
        var positional = PositionalStatement.Of(sql);
        if (positional.Bind(parameters) is { } ordered)
        {
            var command = Command(positional.Sql!);
            command.Parameters.AddRange(ordered);
            return command;
        }
        var named = Command(sql);
        named.Parameters.AddRange(parameters);
        return named;
    }

    /// <summary>Runs a statement and returns the affected rows.</summary>
    public async ValueTask<int> ExecuteAsync(string sql, NpgsqlParameter[] parameters, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = Command(sql, parameters);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex, operation);
        }
    }

    /// <summary>Runs a query and returns its first column of its first row (null when no row).</summary>
    public async ValueTask<object?> ScalarAsync(string sql, NpgsqlParameter[] parameters, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = Command(sql, parameters);
            return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex, operation);
        }
    }

    /// <summary>Runs a query and maps its first row; null when it returns none.</summary>
    public async ValueTask<T?> SingleAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T> read, string operation,
        CancellationToken cancellationToken) where T : class
    {
        try
        {
            await using var cmd = Command(sql, parameters);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? read(reader) : null;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex, operation);
        }
    }

    /// <summary>Runs a query and maps every row. Lists are bounded (by a LIMIT or one owner's codes) and read whole, so
    /// a failure is translated here and the connection goes back to the pool before the caller iterates.</summary>
    public async ValueTask<List<T>> ListAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T> read, string operation,
        CancellationToken cancellationToken)
    {
        try
        {
            await using var cmd = Command(sql, parameters);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                list.Add(read(reader));
            }
            return list;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex, operation);
        }
    }

    /// <summary>Like <see cref="ListAsync"/>, but stops reading rows at the first one <paramref name="read"/> maps to
    /// null (that row is not part of the list).</summary>
    public async ValueTask<List<T>> ListUntilAsync<T>(string sql, NpgsqlParameter[] parameters, Func<NpgsqlDataReader, T?> read, string operation,
        CancellationToken cancellationToken) where T : class
    {
        try
        {
            await using var cmd = Command(sql, parameters);
            await using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var list = new List<T>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && read(reader) is { } item)
            {
                list.Add(item);
            }
            return list;
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw Unavailable(ex, operation);
        }
    }

    /// <summary>Runs an INSERT; a unique violation (duplicate id or hash) becomes an <see cref="InvalidOperationException"/>.</summary>
    public async ValueTask InsertAsync(string sql, NpgsqlParameter[] parameters, string operation, CancellationToken cancellationToken)
    {
        try
        {
            await ExecuteAsync(sql, parameters, operation, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new InvalidOperationException($"Duplicate key in {operation}: the id or hash already exists.", ex);
        }
    }

    /// <summary>Reads a list (see <see cref="ListAsync"/>) when enumeration starts, then yields it.</summary>
    public static async IAsyncEnumerable<T> Yield<T>(Func<ValueTask<List<T>>> list)
    {
        foreach (var item in await list().ConfigureAwait(false))
        {
            yield return item;
        }
    }

    /// <summary>True when <paramref name="exception"/> means the backend is down, unreachable or too slow (and not that
    /// the caller canceled).</summary>
    public static bool IsUnavailable(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        PostgresException pg => IsUnavailableState(pg.SqlState),
        NpgsqlException => true, // connection-level: socket errors, timeouts, broken or exhausted connections
        TimeoutException or SocketException or IOException => true,
        _ => false,
    };

    /// <summary>SQL states of an unusable server: 08 connection exceptions, 53 insufficient resources, 57P01-57P05
    /// admin/crash shutdown and cannot-connect-now, 57014 statement timeout/cancel, 58 system errors,
    /// 40001/40P01 serialization failures and deadlocks (transient), XX fatal internal errors.</summary>
    internal static bool IsUnavailableState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState.StartsWith("53", StringComparison.Ordinal)
        || sqlState.StartsWith("57", StringComparison.Ordinal)
        || sqlState.StartsWith("58", StringComparison.Ordinal)
        || sqlState.StartsWith("XX", StringComparison.Ordinal)
        || sqlState is "40001" or "40P01";

    /// <summary>Logs and wraps a failure for which <see cref="IsUnavailable"/> was true. Connections broken by an
    /// outage are dropped from the pool so that the first calls after a recovery do not fail on dead sockets.</summary>
    public StorageUnavailableException Unavailable(Exception exception, string operation)
    {
        var sqlState = (exception as PostgresException)?.SqlState;
        Log.StorageUnavailable(_logger, operation, sqlState, exception);
        if (exception is not PostgresException || sqlState!.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("57P", StringComparison.Ordinal))
        {
            _dataSource.Clear();
        }
        return new StorageUnavailableException("The PostgreSQL storage is unavailable.", exception);
    }

    public static DateTimeOffset Utc(DateTimeOffset value) => value.ToUniversalTime();

    public static NpgsqlParameter Param(string name, DateTimeOffset? value) =>
        new(name, NpgsqlDbType.TimestampTz) { Value = value is { } v ? Utc(v) : DBNull.Value };

    public static NpgsqlParameter Param(string name, string? value) =>
        new(name, NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter Param(string name, byte[] value) =>
        new(name, NpgsqlDbType.Bytea) { Value = value };

    public static NpgsqlParameter Param(string name, int? value) =>
        new(name, NpgsqlDbType.Integer) { Value = (object?)value ?? DBNull.Value };

    public static NpgsqlParameter LongParam(string name, long value) =>
        new(name, NpgsqlDbType.Bigint) { Value = value };

    public static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    public static DateTimeOffset Time(NpgsqlDataReader reader, int ordinal) => reader.GetFieldValue<DateTimeOffset>(ordinal);
}
