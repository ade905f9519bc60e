using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace QrCalling.Storage.Postgres;

/// <summary>Creates and upgrades QrCalling's tables in a schema. The migrations are SQL files embedded in this assembly
/// (<c>Migrations/NNNN_name.sql</c>); each is applied in its own transaction and recorded in
/// <c>&lt;schema&gt;.schema_version</c>. Safe to run again (applied versions are skipped) and from several instances at
/// once (a transaction-level advisory lock keyed by the schema serializes them).</summary>
public static partial class PostgresMigrator
{
    internal const string SchemaPattern = "^[a-z_][a-z0-9_]{0,62}$";

    /// <summary>Applies every pending migration to <paramref name="schema"/> (created if missing) and returns how many
    /// were applied by this call (0 when the schema was already up to date).</summary>
    /// <param name="dataSource">The database to migrate; needs rights to create the schema and tables.</param>
    /// <param name="schema">A lower-case identifier, e.g. <c>qrcalling</c>.</param>
    /// <param name="cancellationToken">Cancels the migration (the current transaction rolls back).</param>
    /// <exception cref="ArgumentException">The schema is not a lower-case identifier.</exception>
    /// <exception cref="StorageUnavailableException">The database cannot be reached.</exception>
    public static Task<int> MigrateAsync(NpgsqlDataSource dataSource, string schema, CancellationToken cancellationToken = default) =>
        MigrateAsync(dataSource, schema, NullLogger.Instance, cancellationToken);

    /// <summary>The latest migration version this assembly knows.</summary>
    public static int LatestVersion => Migrations.Value[^1].Version;

    /// <summary>Every migration version this assembly knows, ascending (numbers may skip one that another branch of the
    /// code took).</summary>
    internal static IReadOnlyList<int> Versions => [.. Migrations.Value.Select(m => m.Version)];

    internal static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, string schema, ILogger logger, CancellationToken cancellationToken) =>
        await MigrateAsync(dataSource, schema, int.MaxValue, logger, cancellationToken).ConfigureAwait(false);

    /// <summary>Applies the pending migrations up to <paramref name="maxVersion"/> only (tests build older schemas with
    /// it, to check that a migration works on the data those left).</summary>
    internal static async Task<int> MigrateAsync(NpgsqlDataSource dataSource, string schema, int maxVersion, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var quoted = QuoteSchema(schema);
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await InLockedTransactionAsync(connection, schema, async tx =>
            {
                await ExecuteAsync(connection, tx, $"""
                    CREATE SCHEMA IF NOT EXISTS {quoted};
                    CREATE TABLE IF NOT EXISTS {quoted}.schema_version (
                        version    integer     PRIMARY KEY,
                        name       text        NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())
                    """, cancellationToken).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);

            var applied = 0;
            foreach (var migration in Migrations.Value.Where(m => m.Version <= maxVersion))
            {
                var done = await InLockedTransactionAsync(connection, schema, async tx =>
                {
                    await using var check = new NpgsqlCommand($"SELECT 1 FROM {quoted}.schema_version WHERE version = @v", connection, tx);
                    check.Parameters.AddWithValue("v", migration.Version);
                    if (await check.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not null)
                    {
                        return false;
                    }
                    await ExecuteAsync(connection, tx, migration.Sql.Replace("{schema}", quoted, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
                    await using var record = new NpgsqlCommand($"INSERT INTO {quoted}.schema_version (version, name) VALUES (@v, @n)", connection, tx);
                    record.Parameters.AddWithValue("v", migration.Version);
                    record.Parameters.AddWithValue("n", migration.Name);
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
                if (done)
                {
                    applied++;
                    Log.MigrationApplied(logger, migration.Version, migration.Name, schema);
                }
            }
            if (applied == 0)
            {
                Log.SchemaUpToDate(logger, schema, LatestVersion);
            }
            return applied;
        }
        catch (Exception ex) when (PostgresDatabase.IsUnavailable(ex, cancellationToken))
        {
            Log.StorageUnavailable(logger, "migrate", (ex as PostgresException)?.SqlState, ex);
            throw new StorageUnavailableException("The PostgreSQL storage is unavailable.", ex);
        }
    }

    /// <summary>Validates and double-quotes a schema name.</summary>
    internal static string QuoteSchema(string schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (!SchemaRegex().IsMatch(schema))
        {
            throw new ArgumentException("The schema must be a lower-case identifier: a letter or '_', then letters, digits or '_', at most 63 characters.", nameof(schema));
        }
        return $"\"{schema}\"";
    }

    private static async Task<bool> InLockedTransactionAsync(NpgsqlConnection connection, string schema,
        Func<NpgsqlTransaction, Task<bool>> body, CancellationToken cancellationToken)
    {
        await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, tx))
        {
            lockCommand.Parameters.AddWithValue("key", "qrcalling.migrate:" + schema);
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var result = await body(tx).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return result;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx) { CommandTimeout = 120 };
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private sealed record Migration(int Version, string Name, string Sql);

    private static readonly Lazy<Migration[]> Migrations = new(LoadMigrations);

    private static Migration[] LoadMigrations()
    {
        const string prefix = "QrCalling.Storage.Postgres.Migrations.";
        var assembly = typeof(PostgresMigrator).Assembly;
        var list = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            var match = MigrationNameRegex().Match(resource.StartsWith(prefix, StringComparison.Ordinal) ? resource[prefix.Length..] : "");
            if (!match.Success)
            {
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            list.Add(new Migration(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), match.Groups[2].Value, reader.ReadToEnd()));
        }
        if (list.Count == 0)
        {
            throw new InvalidOperationException("No embedded migrations were found.");
        }
        return [.. list.OrderBy(m => m.Version)];
    }

    [GeneratedRegex(SchemaPattern)]
    private static partial Regex SchemaRegex();

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex MigrationNameRegex();
}
