using Microsoft.Extensions.Logging;

namespace QrCalling.Storage.Postgres;

/// <summary>Log messages of the PostgreSQL storage. They name operations, schemas and SQL states only: never a token,
/// hash, payload, label or mailbox data.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning,
        Message = "PostgreSQL storage is unavailable during {Operation} (SQL state {SqlState}).")]
    public static partial void StorageUnavailable(ILogger logger, string operation, string? sqlState, Exception exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "Applied QrCalling migration {Version} ({Name}) to schema {Schema}.")]
    public static partial void MigrationApplied(ILogger logger, int version, string name, string schema);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug,
        Message = "QrCalling schema {Schema} is up to date at version {Version}.")]
    public static partial void SchemaUpToDate(ILogger logger, string schema, int version);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information,
        Message = "Applying QrCalling migrations to schema {Schema} at start-up.")]
    public static partial void MigratingAtStartup(ILogger logger, string schema);
}
