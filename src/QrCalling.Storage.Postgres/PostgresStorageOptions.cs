using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace QrCalling.Storage.Postgres;

/// <summary>Options of the PostgreSQL storage. Give exactly one of <see cref="ConnectionString"/>,
/// <see cref="DataSource"/> or <see cref="DataSourceFactory"/>. Validated at start-up.</summary>
public sealed class PostgresStorageOptions
{
    /// <summary>An Npgsql connection string; the storage then builds and owns its data source, with
    /// <see cref="ConnectTimeout"/> as the connect timeout, and multiplexing and automatic preparation on unless the
    /// string sets them.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>An app-owned data source (the app configures and disposes it).</summary>
    public NpgsqlDataSource? DataSource { get; set; }

    /// <summary>A factory returning an app-owned data source from the service provider (the app disposes it).</summary>
    public Func<IServiceProvider, NpgsqlDataSource>? DataSourceFactory { get; set; }

    /// <summary>The schema holding QrCalling's tables: a lower-case PostgreSQL identifier. Default <c>qrcalling</c>.</summary>
    [Required]
    [RegularExpression(PostgresMigrator.SchemaPattern, ErrorMessage = "Schema must be a lower-case identifier: a letter or '_', then letters, digits or '_', at most 63 characters.")]
    public string Schema { get; set; } = "qrcalling";

    /// <summary>Whether a hosted service applies pending migrations at start-up. Default true. When false, run
    /// <see cref="PostgresMigrator.MigrateAsync(Npgsql.NpgsqlDataSource, string, CancellationToken)"/> yourself (e.g. from a deployment step).</summary>
    public bool ApplyMigrationsOnStartup { get; set; } = true;

    /// <summary>How long one statement may run before it fails with <see cref="StorageUnavailableException"/>.
    /// Default 5 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long opening a connection may take, for a data source built from <see cref="ConnectionString"/>
    /// (it overrides the string's <c>Timeout</c>). Default 3 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);
}

/// <summary>Validates <see cref="PostgresStorageOptions"/>' DataAnnotations at start-up (source-generated).</summary>
[OptionsValidator]
internal sealed partial class PostgresStorageOptionsValidator : IValidateOptions<PostgresStorageOptions>
{
}

/// <summary>Checks that exactly one connection source is given and that a connection string parses.</summary>
internal sealed class PostgresStorageSourceValidator : IValidateOptions<PostgresStorageOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresStorageOptions options)
    {
        var sources = (string.IsNullOrWhiteSpace(options.ConnectionString) ? 0 : 1)
            + (options.DataSource is null ? 0 : 1)
            + (options.DataSourceFactory is null ? 0 : 1);
        if (sources != 1)
        {
            return ValidateOptionsResult.Fail(
                $"PostgresStorageOptions: set exactly one of {nameof(PostgresStorageOptions.ConnectionString)}, " +
                $"{nameof(PostgresStorageOptions.DataSource)} or {nameof(PostgresStorageOptions.DataSourceFactory)} (found {sources}).");
        }
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            try
            {
                _ = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            }
            catch (ArgumentException)
            {
                // The message of the exception may echo the string (and a password): do not include it.
                return ValidateOptionsResult.Fail(
                    $"PostgresStorageOptions: {nameof(PostgresStorageOptions.ConnectionString)} is not a valid Npgsql connection string.");
            }
        }
        return ValidateOptionsResult.Success;
    }
}
