using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>QrCalling's storage on Redis: codes and calls as hashes, owner/open/stale indexes as sorted sets, mailboxes
/// as sorted sets scored by seq (one per recipient side, one for lifecycle entries) with a hash of each side's
/// unacknowledged bytes; every atomic operation is one Lua script. Records expire through key TTLs (retention),
/// and the sweep methods delete what is stale and clean index entries of keys that expired.</summary>
internal sealed partial class RedisStorage : IStorage, IAsyncDisposable
{
    /// <summary>Shortest TTL given to a record, even one already past its retention when written, so that a record
    /// never vanishes between two steps of one operation (e.g. a call ending and its call-ended event).</summary>
    internal static readonly TimeSpan MinimumTtl = TimeSpan.FromMinutes(1);

    private readonly bool _ownsConnection;

    public RedisStorage(RedisConnection connection, IOptions<RedisStorageOptions> redisOptions, IOptions<QrCallingOptions> options, TimeProvider time, ILogger<RedisStorage>? logger)
        : this(connection, redisOptions.Value.KeyPrefix, options.Value, time, logger ?? (ILogger)NullLogger.Instance, ownsConnection: false)
    {
    }

    internal RedisStorage(RedisConnection connection, string keyPrefix, QrCallingOptions options, TimeProvider time, ILogger logger, bool ownsConnection)
    {
        Connection = connection;
        Keys = new RedisKeys(keyPrefix);
        Options = options;
        Time = time;
        Logger = logger;
        _ownsConnection = ownsConnection;
        _codes = new RedisCodeStore(this);
        Codes = _codes;
        Calls = new RedisCallStore(this);
        Mailbox = new RedisMailboxStore(this);
        PushSubscriptions = new RedisPushSubscriptionStore(this);
        CallerControls = new RedisCallerControlStore(this);
        Devices = new RedisDeviceStore(this);
        Delegates = new RedisDelegateStore(this);
        Backups = new RedisBackupStore(this);
        Rooms = new RedisRoomStore(this);
    }

    internal RedisConnection Connection { get; }
    internal RedisKeys Keys { get; }
    internal QrCallingOptions Options { get; }
    internal TimeProvider Time { get; }
    internal ILogger Logger { get; }

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

    /// <summary>One script: the accept and its lifecycle entry (see <see cref="RedisCallStore"/>).</summary>
    /// <summary>One script: the code, its policy and whether it has blocks.</summary>
    public ValueTask<CodeWithControls?> FindCodeWithControlsAsync(byte[] keyHash, CancellationToken cancellationToken) =>
        _codes.FindWithControlsAsync(keyHash, cancellationToken);

    private readonly RedisCodeStore _codes;

    public ValueTask<CallAcceptance?> TryAcceptCallAsync(string callId, string deviceId, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken) =>
        ((RedisCallStore)Calls).TryAcceptWithEntryAsync(callId, deviceId, lifecycle, now, cancellationToken);

    /// <summary>One script: the end and its lifecycle entry.</summary>
    public ValueTask<CallRecord?> TryEndCallAsync(string callId, CallState expectedState, CallEndReason reason, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken) =>
        ((RedisCallStore)Calls).TryEndWithEntryAsync(callId, expectedState, reason, lifecycle, now, cancellationToken);

    public async ValueTask PingAsync(CancellationToken cancellationToken) =>
        await Connection.RunAsync(nameof(PingAsync), db => db.PingAsync(), cancellationToken).ConfigureAwait(false);

    public IMessageStore Messages => _messages ??= new RedisMessageStore(this);
    private RedisMessageStore? _messages;

    /// <summary>Milliseconds from the store's clock until <paramref name="deadline"/>, at least <see cref="MinimumTtl"/>.</summary>
    internal long TtlMs(DateTimeOffset deadline) => Math.Max((long)(deadline - Time.GetUtcNow()).TotalMilliseconds, (long)MinimumTtl.TotalMilliseconds);

    internal long NowMs => Time.GetUtcNow().ToUnixTimeMilliseconds();

    internal static long FloorMs => (long)MinimumTtl.TotalMilliseconds;

    internal static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    internal static RedisValue Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    internal static RedisValue Ms(DateTimeOffset? time) => time is { } t ? t.ToUnixTimeMilliseconds() : RedisValue.EmptyString;

    internal static DateTimeOffset? ParseTime(string? text) =>
        string.IsNullOrEmpty(text) ? null : DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(text, CultureInfo.InvariantCulture));

    internal static int? ParseInt(string? text) => string.IsNullOrEmpty(text) ? null : int.Parse(text, CultureInfo.InvariantCulture);

    /// <summary>A HGETALL-style reply (flat field/value array) as a dictionary; null for an empty or nil reply.</summary>
    internal static Dictionary<string, string>? ToFields(RedisResult result)
    {
        if (result.IsNull || result.Length == 0)
        {
            return null;
        }
        var items = (RedisResult[])result!;
        var fields = new Dictionary<string, string>(items.Length / 2, StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            fields[(string)items[i]!] = (string)items[i + 1]!;
        }
        return fields;
    }

    internal static Dictionary<string, string>? ToFields(HashEntry[] entries)
    {
        if (entries.Length == 0)
        {
            return null;
        }
        var fields = new Dictionary<string, string>(entries.Length, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            fields[entry.Name!] = entry.Value!;
        }
        return fields;
    }

    /// <summary>Pages through a sorted-set index by rank, loading each member's hash; yields the records that still
    /// exist and, at the end, removes index entries whose record expired.</summary>
    internal async IAsyncEnumerable<T> ReadIndexAsync<T>(string operation, RedisKey index, double max, double min, Exclude exclude, Order order, int limit,
        Func<string, RedisKey> recordKey, Func<Dictionary<string, string>, T?> parse, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        where T : class
    {
        const int PageSize = 100;
        var yielded = 0;
        var offset = 0L;
        var stale = new List<RedisValue>();
        while (yielded < limit)
        {
            var take = Math.Min(PageSize, limit - yielded);
            var page = await Connection.RunAsync(operation, async db =>
            {
                var ids = order == Order.Descending
                    ? await db.SortedSetRangeByScoreAsync(index, min, max, exclude, Order.Descending, offset, take).ConfigureAwait(false)
                    : await db.SortedSetRangeByScoreAsync(index, min, max, exclude, Order.Ascending, offset, take).ConfigureAwait(false);
                var hashes = await Task.WhenAll(ids.Select(id => db.HashGetAllAsync(recordKey(id!)))).ConfigureAwait(false);
                return (ids, hashes);
            }, cancellationToken).ConfigureAwait(false);
            if (page.ids.Length == 0)
            {
                break;
            }
            offset += page.ids.Length;
            for (var i = 0; i < page.ids.Length && yielded < limit; i++)
            {
                var fields = ToFields(page.hashes[i]);
                if (fields is null)
                {
                    stale.Add(page.ids[i]);
                    continue;
                }
                if (parse(fields) is { } record)
                {
                    yielded++;
                    yield return record;
                }
            }
            if (page.ids.Length < take)
            {
                break;
            }
        }
        if (stale.Count > 0)
        {
            await Connection.RunAsync(operation, db => db.SortedSetRemoveAsync(index, stale.ToArray()), cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            await Connection.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>The key layout. Hashes appear as lower-case hex of keyed hashes; a token never appears.
/// The type tag comes before the id, so no two kinds of key can collide whatever an id holds.</summary>
internal sealed class RedisKeys(string prefix)
{
    public string Prefix { get; } = prefix;
    /// <summary>Hash: one code.</summary>
    public RedisKey Code(string codeId) => Prefix + "code:" + codeId;
    /// <summary>String: keyed hash of a code's token → code id.</summary>
    public RedisKey CodeKey(byte[] keyHash) => Prefix + "codekey:" + Convert.ToHexStringLower(keyHash);
    /// <summary>Sorted set: an owner's code ids by createdAt.</summary>
    public RedisKey OwnerCodes(string ownerId) => Prefix + "owner-codes:" + ownerId;
    /// <summary>Sorted set: code ids by the time they became stale (expiresAt, or revokedAt if earlier).</summary>
    public RedisKey StaleCodes => Prefix + "codes-stale";
    /// <summary>Hash: one call.</summary>
    public RedisKey Call(string callId) => Prefix + "call:" + callId;
    /// <summary>String: keyed hash of a call token → call id.</summary>
    public RedisKey CallToken(byte[] tokenHash) => Prefix + "calltoken:" + Convert.ToHexStringLower(tokenHash);
    /// <summary>Sorted set: an owner's call ids by createdAt.</summary>
    public RedisKey OwnerCalls(string ownerId) => Prefix + "owner-calls:" + ownerId;
    /// <summary>Sorted set: open (ringing or active) call ids by createdAt.</summary>
    public RedisKey OpenCalls => Prefix + "calls-open";
    /// <summary>Sorted set: the open call ids of one code by createdAt.</summary>
    public RedisKey CodeOpenCalls(string codeId) => Prefix + "code-calls:" + codeId;
    /// <summary>Sorted set: ended call ids by endedAt (for the call retention sweep).</summary>
    public RedisKey EndedCalls => Prefix + "calls-ended";
    /// <summary>Sorted set: ids of ended calls whose mailbox still exists, by endedAt (for the mailbox sweep).</summary>
    public RedisKey EndedMailboxes => Prefix + "mbox-ended";
    /// <summary>String: a call's last seq (one seq space for all of the call's entries).</summary>
    public RedisKey MailboxSeq(string callId) => Prefix + "mbox-seq:" + callId;
    /// <summary>Sorted set: a call's lifecycle entries (readable by both sides, never acknowledged), scored by seq.</summary>
    public RedisKey MailboxBoth(string callId) => Prefix + "mbox-both:" + callId;
    /// <summary>Sorted set: a call's entries addressed to one side and not acknowledged yet, scored by seq.</summary>
    public RedisKey MailboxTo(string callId, CallSide side) => Prefix + (side == CallSide.Caller ? "mbox-caller:" : "mbox-callee:") + callId;
    /// <summary>Hash: the bytes each side has not acknowledged yet (fields <c>caller</c>, <c>callee</c>).</summary>
    public RedisKey MailboxBytes(string callId) => Prefix + "mbox-bytes:" + callId;

    /// <summary>Every key of a call's mailbox (the scripts that delete a mailbox name the same keys, see
    /// <see cref="RedisMailboxStore.MailboxKeysFunction"/>).</summary>
    public RedisKey[] MailboxKeys(string callId) =>
        [MailboxSeq(callId), MailboxBoth(callId), MailboxTo(callId, CallSide.Caller), MailboxTo(callId, CallSide.Callee), MailboxBytes(callId)];
}
