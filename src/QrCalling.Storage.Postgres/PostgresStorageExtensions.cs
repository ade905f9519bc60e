using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using QrCalling.Storage;
using QrCalling.Storage.Postgres;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL storage to QrCalling.</summary>
public static class PostgresStorageExtensions
{
    /// <summary>Stores codes, calls and mailboxes in PostgreSQL (replacing the in-memory default), validates
    /// <see cref="PostgresStorageOptions"/> at start-up and, unless
    /// <see cref="PostgresStorageOptions.ApplyMigrationsOnStartup"/> is false, applies pending migrations when the host
    /// starts. Safe to call more than once (configurations add up).</summary>
    /// <param name="builder">The QrCalling builder.</param>
    /// <param name="configure">Sets the connection string or data source, the schema and timeouts.</param>
    public static QrCallingBuilder UsePostgresStorage(this QrCallingBuilder builder, Action<PostgresStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var services = builder.Services;
        services.AddOptions<PostgresStorageOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStorageOptions>, PostgresStorageOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PostgresStorageOptions>, PostgresStorageSourceValidator>());
        services.TryAddSingleton<PostgresDataSourceProvider>();
        services.TryAddSingleton<PostgresStorage>(sp => new PostgresStorage(
            sp.GetRequiredService<PostgresDataSourceProvider>(),
            sp.GetRequiredService<IOptions<PostgresStorageOptions>>().Value,
            sp.GetService<Logging.ILoggerFactory>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, PostgresMigrationHostedService>());
        builder.UseStorage(sp => sp.GetRequiredService<PostgresStorage>());
        return builder;
    }
}
