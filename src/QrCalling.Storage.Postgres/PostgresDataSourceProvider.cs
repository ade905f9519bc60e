using Microsoft.Extensions.Options;
using Npgsql;

namespace QrCalling.Storage.Postgres;

/// <summary>Gives the storage and the migration service one data source: the app's own (never disposed here) or one
/// built from the connection string (owned and disposed with the container).</summary>
internal sealed class PostgresDataSourceProvider : IAsyncDisposable, IDisposable
{
    private readonly Lazy<(NpgsqlDataSource Source, bool Owned)> _source;

    public PostgresDataSourceProvider(IOptions<PostgresStorageOptions> options, IServiceProvider services)
    {
        var o = options.Value;
        _source = new Lazy<(NpgsqlDataSource, bool)>(() =>
            o.DataSource is { } given ? (given, false)
            : o.DataSourceFactory is { } factory ? (factory(services), false)
            : (Build(o.ConnectionString!, o), true));
    }

    public NpgsqlDataSource DataSource => _source.Value.Source;

    /// <summary>Builds a data source that fails fast (a short connect timeout and command timeout) and is tuned for the
    /// storage's short single statements: automatic preparation and multiplexing, unless the string sets them.</summary>
    internal static NpgsqlDataSource Build(string connectionString, PostgresStorageOptions options)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString);
        var csb = builder.ConnectionStringBuilder;
        csb.Timeout = Seconds(options.ConnectTimeout);
        csb.CommandTimeout = Seconds(options.CommandTimeout);
        if (csb.MaxAutoPrepare == 0)
        {
            csb.MaxAutoPrepare = 32;
        }
        // Every statement of the storage is a single command without connection state, which is what Npgsql's
        // multiplexing pipelines best (about +50% reads in tests/QrCalling.StorageLoad); a string may turn it off.
        if (csb.Pooling && !connectionString.Contains("multiplexing", StringComparison.OrdinalIgnoreCase))
        {
            csb.Multiplexing = true;
        }
        return builder.Build();
    }

    internal static int Seconds(TimeSpan value) => Math.Max(1, (int)Math.Ceiling(value.TotalSeconds));

    public void Dispose()
    {
        if (_source.IsValueCreated && _source.Value.Owned)
        {
            _source.Value.Source.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_source.IsValueCreated && _source.Value.Owned)
        {
            await _source.Value.Source.DisposeAsync().ConfigureAwait(false);
        }
    }
}
