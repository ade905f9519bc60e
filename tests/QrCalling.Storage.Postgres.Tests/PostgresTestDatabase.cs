using Npgsql;
using QrCalling.Storage.Postgres;
using QrCalling.Testing;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>The shared PostgreSQL server of the test run (<c>QRCALLING_TEST_POSTGRES</c>), and fresh schemas in it.</summary>
internal static class PostgresTestDatabase
{
    private static readonly Lazy<NpgsqlDataSource> Shared = new(() =>
    {
        var builder = new NpgsqlConnectionStringBuilder(TestServers.Postgres) { MaxPoolSize = 40 };
        return PostgresDataSourceProvider.Build(builder.ConnectionString, new PostgresStorageOptions());
    });

    /// <summary>A pooled data source on the shared server (fails the test when the variable is unset).</summary>
    public static NpgsqlDataSource DataSource => Shared.Value;

    /// <summary>A fresh, unique schema name (not created).</summary>
    public static string NewSchemaName() => "t_" + Guid.NewGuid().ToString("N");

    /// <summary>Creates a fresh schema with every migration applied and returns its name.</summary>
    public static async Task<string> CreateMigratedSchemaAsync()
    {
        var schema = NewSchemaName();
        await PostgresMigrator.MigrateAsync(DataSource, schema);
        return schema;
    }

    /// <summary>Storage over a schema of the shared server.</summary>
    public static PostgresStorage Storage(string schema) => new(DataSource, schema, TimeSpan.FromSeconds(10), null);

    public static async Task DropSchemaAsync(string schema)
    {
        await using var cmd = DataSource.CreateCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        await cmd.ExecuteNonQueryAsync();
    }
}
