using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace QrCalling.Storage.Postgres;

/// <summary>Applies pending migrations when the host starts, if <see cref="PostgresStorageOptions.ApplyMigrationsOnStartup"/>
/// says so. A database that cannot be reached stops start-up with <see cref="StorageUnavailableException"/>.</summary>
internal sealed class PostgresMigrationHostedService(
    PostgresDataSourceProvider provider,
    IOptions<PostgresStorageOptions> options,
    ILoggerFactory? loggerFactory = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (!o.ApplyMigrationsOnStartup)
        {
            return;
        }
        var logger = (ILogger?)loggerFactory?.CreateLogger<PostgresMigrationHostedService>() ?? NullLogger.Instance;
        Log.MigratingAtStartup(logger, o.Schema);
        await PostgresMigrator.MigrateAsync(provider.DataSource, o.Schema, logger, cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
