using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using QrCalling.Calls;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Mailboxes on Redis: <c>mbox:{callId}</c> is a sorted set scored by seq whose members are
/// <c>"{seq}|{json}"</c>, and <c>mbox-seq:{callId}</c> the counter. One script INCRs and ZADDs, so seqs are gap-free
/// under concurrency. Both keys live until expiresAt + MailboxRetention while the call is open and
/// endedAt + MailboxRetention once it ended.</summary>
internal sealed class RedisMailboxStore(RedisStorage storage) : IMailboxStore
{
    // KEYS: mbox, mbox-seq, call. ARGV: json, clock ms, mailbox retention ms, floor ms, fallback ttl ms.
    private const string AppendScript = """
        local seq = redis.call('INCR', KEYS[2])
        redis.call('ZADD', KEYS[1], seq, seq .. '|' .. ARGV[1])
        local f = redis.call('HMGET', KEYS[3], 'state', 'exp', 'ended')
        local ttl = tonumber(ARGV[5])
        if f[1] == '2' and f[3] then ttl = tonumber(f[3]) + tonumber(ARGV[3]) - tonumber(ARGV[2])
        elseif f[2] then ttl = tonumber(f[2]) + tonumber(ARGV[3]) - tonumber(ARGV[2]) end
        if ttl < tonumber(ARGV[4]) then ttl = tonumber(ARGV[4]) end
        redis.call('PEXPIRE', KEYS[1], ttl)
        redis.call('PEXPIRE', KEYS[2], ttl)
        return seq
        """;

    // KEYS: mbox-ended. ARGV: prefix, cutoff ms, max entries.
    private const string DeleteScript = """
        local budget = tonumber(ARGV[3])
        local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, budget)
        local n = 0
        for _, id in ipairs(ids) do
          if budget <= 0 then break end
          local mk = ARGV[1] .. 'mbox:' .. id
          local c = redis.call('ZCARD', mk)
          if c <= budget then
            redis.call('DEL', mk, ARGV[1] .. 'mbox-seq:' .. id)
            redis.call('ZREM', KEYS[1], id)
            n = n + c
            budget = budget - c
          else
            redis.call('ZREMRANGEBYRANK', mk, 0, budget - 1)
            n = n + budget
            budget = 0
          end
        end
        return n
        """;

    private RedisKeys Keys => storage.Keys;

    public async ValueTask<long> AppendAsync(string callId, MailboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var json = JsonSerializer.Serialize(new StoredEntry(entry.Type, entry.From, entry.To, entry.DataJson, entry.At.ToUnixTimeMilliseconds()), MailboxJson.Default.StoredEntry);
        var options = storage.Options;
        RedisValue[] args =
        [
            json, storage.NowMs, RedisStorage.Ms(options.MailboxRetention), RedisStorage.FloorMs,
            storage.TtlMs(storage.Time.GetUtcNow() + options.MaxCallDuration + options.MailboxRetention),
        ];
        var result = await storage.Connection.RunAsync(nameof(AppendAsync),
            db => db.ScriptEvaluateAsync(AppendScript, [Keys.Mailbox(callId), Keys.MailboxSeq(callId), Keys.Call(callId)], args), cancellationToken).ConfigureAwait(false);
        return (long)result;
    }

    public async ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, long afterSeq, int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount <= 0)
        {
            return [];
        }
        var members = await storage.Connection.RunAsync(nameof(ReadAsync),
            db => db.SortedSetRangeByScoreAsync(Keys.Mailbox(callId), afterSeq, double.PositiveInfinity, Exclude.Start, Order.Ascending, 0, maxCount),
            cancellationToken).ConfigureAwait(false);
        var entries = new List<MailboxEntry>(members.Length);
        foreach (var member in members)
        {
            var text = (string)member!;
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            var stored = JsonSerializer.Deserialize(text.AsSpan(bar + 1), MailboxJson.Default.StoredEntry)!;
            entries.Add(new MailboxEntry
            {
                Seq = long.Parse(text.AsSpan(0, bar), CultureInfo.InvariantCulture),
                Type = stored.Type,
                From = stored.From,
                To = stored.To,
                DataJson = stored.Data,
                At = DateTimeOffset.FromUnixTimeMilliseconds(stored.At),
            });
        }
        return entries;
    }

    public async ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken)
    {
        var value = await storage.Connection.RunAsync(nameof(GetLastSeqAsync), db => db.StringGetAsync(Keys.MailboxSeq(callId)), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? 0 : (long)value;
    }

    public async ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken)
    {
        if (maxCount <= 0)
        {
            return 0;
        }
        var result = await storage.Connection.RunAsync(nameof(DeleteForCallsEndedBeforeAsync),
            db => db.ScriptEvaluateAsync(DeleteScript, [Keys.EndedMailboxes], [Keys.Prefix, RedisStorage.Ms(cutoff), maxCount]), cancellationToken).ConfigureAwait(false);
        var count = (int)(long)result;
        Log.Swept(storage.Logger, count, "mailbox entries");
        return count;
    }
}

/// <summary>A mailbox entry as stored (its seq is the sorted-set score and member prefix).</summary>
internal sealed record StoredEntry(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] CallSide? To,
    [property: JsonPropertyName("data")] string Data,
    [property: JsonPropertyName("at")] long At);

[JsonSerializable(typeof(StoredEntry))]
internal sealed partial class MailboxJson : JsonSerializerContext;
