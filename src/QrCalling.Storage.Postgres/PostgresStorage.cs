using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using QrCalling.Calls;
using QrCalling.Codes;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IStorage"/> on PostgreSQL: the three stores over one data source and schema. Registered by
/// <c>UsePostgresStorage</c>; the data source is not owned here.</summary>
internal sealed partial class PostgresStorage : IStorage
{
    private readonly PostgresDatabase _db;

    public PostgresStorage(PostgresDataSourceProvider provider, PostgresStorageOptions options, ILoggerFactory? loggerFactory)
        : this(provider.DataSource, options.Schema, options.CommandTimeout, loggerFactory)
    {
    }

    public PostgresStorage(NpgsqlDataSource dataSource, string schema, TimeSpan commandTimeout, ILoggerFactory? loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var logger = (ILogger?)loggerFactory?.CreateLogger<PostgresStorage>() ?? NullLogger.Instance;
        _db = new PostgresDatabase(dataSource, schema, commandTimeout, logger);
        var codes = new PostgresCodeStore(_db);
        Codes = codes;
        _codes = codes;
        _calls = new PostgresCallStore(_db, codes.CountScanSql);
        Calls = _calls;
        Mailbox = new PostgresMailboxStore(_db);
        PushSubscriptions = new PostgresPushSubscriptionStore(_db);
        CallerControls = new PostgresCallerControlStore(_db);
        Devices = new PostgresDeviceStore(_db);
        Delegates = new PostgresDelegateStore(_db);
        Backups = new PostgresBackupStore(_db);
        Rooms = new PostgresRoomStore(_db);
    }

    public ICodeStore Codes { get; }
    public ICallStore Calls { get; }
    public IMailboxStore Mailbox { get; }
    public IPushSubscriptionStore PushSubscriptions { get; }
    public ICallerControlStore CallerControls { get; }
    public IDeviceStore Devices { get; }

    /// <inheritdoc />
    public IDelegateStore Delegates { get; }
    public IBackupStore Backups { get; }
    public IRoomStore Rooms { get; }

    public async ValueTask PingAsync(CancellationToken cancellationToken) =>
        await _db.ScalarAsync("SELECT 1", [], "ping", cancellationToken).ConfigureAwait(false);

    /// <summary>One statement: the code, its policy and whether it has blocks.</summary>
    public ValueTask<CodeWithControls?> FindCodeWithControlsAsync(byte[] keyHash, CancellationToken cancellationToken) =>
        _codes.FindWithControlsAsync(keyHash, cancellationToken);

    /// <summary>One statement: the scan's conditional update of the code, and the call's insert from its row (see
    /// <see cref="PostgresCallStore.TryStartAsync"/>).</summary>
    public ValueTask<CodeRecord?> TryStartCallAsync(byte[] codeKeyHash, CallRecord call, DateTimeOffset now, CancellationToken cancellationToken) =>
        _calls.TryStartAsync(codeKeyHash, call, now, cancellationToken);

    /// <summary>One statement: the accept and its lifecycle entry (see <see cref="PostgresCallStore"/>); a call without a
    /// head row gets its entry by a second statement.</summary>
    public async ValueTask<CallAcceptance?> TryAcceptCallAsync(string callId, string deviceId, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var change = await _calls.TryAcceptWithEntryAsync(callId, deviceId, lifecycle, now, cancellationToken).ConfigureAwait(false);
        if (change is { Appended: false })
        {
            await Mailbox.AppendAsync(callId, lifecycle with { To = null }, default, cancellationToken).ConfigureAwait(false);
        }
        return change?.Value;
    }

    /// <summary>One statement: the end and its lifecycle entry, as the accept.</summary>
    public async ValueTask<CallRecord?> TryEndCallAsync(string callId, CallState expectedState, CallEndReason reason, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var change = await _calls.TryEndWithEntryAsync(callId, expectedState, reason, lifecycle, now, cancellationToken).ConfigureAwait(false);
        if (change is { Appended: false })
        {
            await Mailbox.AppendAsync(callId, lifecycle with { To = null }, default, cancellationToken).ConfigureAwait(false);
        }
        return change?.Value;
    }

    private readonly PostgresCallStore _calls;
    private readonly PostgresCodeStore _codes;

    public IMessageStore Messages => _messages ??= new PostgresMessageStore(_db);
    private PostgresMessageStore? _messages;
}
