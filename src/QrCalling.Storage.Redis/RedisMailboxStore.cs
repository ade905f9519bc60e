using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using QrCalling.Calls;
using StackExchange.Redis;

namespace QrCalling.Storage.Redis;

/// <summary>Mailboxes on Redis, a window per side. A call's entries share one seq space, the counter
/// <c>mbox-seq:{callId}</c>; entries addressed to a side live in the sorted set <c>mbox-caller:{callId}</c> or
/// <c>mbox-callee:{callId}</c> until that side acknowledges them, lifecycle entries (readable by both) in
/// <c>mbox-both:{callId}</c>, all scored by seq; the hash <c>mbox-bytes:{callId}</c> holds each side's unacknowledged
/// bytes (fields <c>caller</c>, <c>callee</c>). A member is <c>"{seq}|{size}|{header json}{data}"</c>: size is
/// <see cref="MailboxEntry.Size"/> (the data's byte length + 64, computed by the script), so the data is the member's
/// last size − 64 bytes, stored unescaped. Append, read and acknowledge are one script each (one round trip); the
/// append checks the call's state, the budget and charges it in the same script that INCRs and ZADDs, so seqs are
/// gap-free and budgets exact under concurrency. Every mailbox key lives until expiresAt + MailboxRetention while the
/// call is open and endedAt + MailboxRetention once it ended.</summary>
internal sealed class RedisMailboxStore(RedisStorage storage) : IMailboxStore
{
    private const long CallNotOpen = -1;
    private const long Full = -2;

    /// <summary>A Lua function naming a call's mailbox keys from the key prefix, as <see cref="RedisKeys.MailboxKeys"/>
    /// does: seq, both, caller, callee, bytes.</summary>
    internal const string MailboxKeysFunction = """
        local function mailbox_keys(prefix, id)
          return prefix .. 'mbox-seq:' .. id, prefix .. 'mbox-both:' .. id, prefix .. 'mbox-caller:' .. id,
            prefix .. 'mbox-callee:' .. id, prefix .. 'mbox-bytes:' .. id
        end
        """;

    // A member's size (its second field).
    private const string SizeFunction = """
        local function size_of(member) return tonumber(string.match(member, '^%d+|(%d+)|')) end
        """;

    /// <summary>The append as a Lua function <c>append(K, A)</c> of the keys and arguments described below, so that
    /// other scripts (an accept or an end with its lifecycle entry, RedisCallStore) append in the same script.</summary>
    // K: call, mbox-seq, the entry's set (mbox-caller, mbox-callee or mbox-both), mbox-bytes.
    // A: side field ('caller', 'callee', or '' for a lifecycle entry), header json, data, ringing budget, side budget,
    // clock ms, mailbox retention ms, floor ms, fallback ttl ms.
    // Returns {seq, the side's unacknowledged bytes after it (0 for a lifecycle entry)}, or -1 (call unknown or ended),
    // or -2 (the side's budget is used up). Call states: '0' Ringing,
    // '1' Active, '2' Ended (RedisCallStore). A refused append writes nothing.
    internal const string AppendFunction = """
        local function append(K, A)
          local f = redis.call('HMGET', K[1], 'state', 'exp', 'ended')
          local side = A[1]
          local size = #A[3] + 64
          local pending = 0
          if side ~= '' then
            local limit
            if f[1] == '0' then limit = tonumber(A[4])
            elseif f[1] == '1' then limit = tonumber(A[5])
            else return -1 end
            pending = tonumber(redis.call('HGET', K[4], side) or '0')
            if pending + size > limit then return -2 end
            pending = redis.call('HINCRBY', K[4], side, size)
          end
          local seq = redis.call('INCR', K[2])
          redis.call('ZADD', K[3], seq, seq .. '|' .. size .. '|' .. A[2] .. A[3])
          local ttl = tonumber(A[9])
          if f[1] == '2' and f[3] then ttl = tonumber(f[3]) + tonumber(A[7]) - tonumber(A[6])
          elseif f[2] then ttl = tonumber(f[2]) + tonumber(A[7]) - tonumber(A[6]) end
          if ttl < tonumber(A[8]) then ttl = tonumber(A[8]) end
          redis.call('PEXPIRE', K[2], ttl)
          redis.call('PEXPIRE', K[3], ttl)
          if side ~= '' then redis.call('PEXPIRE', K[4], ttl) end
          return { seq, pending }
        end
        """;

    private const string AppendScript = AppendFunction + "\nreturn append(KEYS, ARGV)";

    // KEYS: the side's set, mbox-both. ARGV: after seq, max count, max bytes.
    // Merges the two sets' pages in seq order; the first entry is returned whatever its size.
    private const string ReadScript = SizeFunction + """

        local after = '(' .. ARGV[1]
        local max = tonumber(ARGV[2])
        local maxBytes = tonumber(ARGV[3])
        local a = redis.call('ZRANGE', KEYS[1], after, '+inf', 'BYSCORE', 'LIMIT', 0, max, 'WITHSCORES')
        local b = redis.call('ZRANGE', KEYS[2], after, '+inf', 'BYSCORE', 'LIMIT', 0, max, 'WITHSCORES')
        local out, bytes, i, j = {}, 0, 1, 1
        while #out < max do
          local m
          if i < #a and (j >= #b or tonumber(a[i + 1]) < tonumber(b[j + 1])) then m = a[i]; i = i + 2
          elseif j < #b then m = b[j]; j = j + 2
          else break end
          local size = size_of(m)
          if #out > 0 and bytes + size > maxBytes then break end
          bytes = bytes + size
          out[#out + 1] = m
        end
        return out
        """;

    // KEYS: the side's set, mbox-bytes. ARGV: side field, up to seq. Returns how many entries it deleted.
    private const string AcknowledgeScript = SizeFunction + """

        local gone = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[2], 'BYSCORE')
        if #gone == 0 then return 0 end
        local freed = 0
        for _, m in ipairs(gone) do freed = freed + size_of(m) end
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[1], -freed) end
        return #gone
        """;

    // KEYS: mbox-ended. ARGV: prefix, cutoff ms, max entries.
    // A mailbox that fits in what is left of the batch goes whole (every key, and its index entry); otherwise its
    // lowest-ranked entries go, and the side bytes they held are freed.
    private const string DeleteScript = MailboxKeysFunction + "\n" + SizeFunction + """

        local budget = tonumber(ARGV[3])
        local ids = redis.call('ZRANGE', KEYS[1], '-inf', '(' .. ARGV[2], 'BYSCORE', 'LIMIT', 0, budget)
        local n = 0
        for _, id in ipairs(ids) do
          if budget <= 0 then break end
          local seqk, both, caller, callee, bytes = mailbox_keys(ARGV[1], id)
          local c = redis.call('ZCARD', both) + redis.call('ZCARD', caller) + redis.call('ZCARD', callee)
          if c <= budget then
            redis.call('DEL', seqk, both, caller, callee, bytes)
            redis.call('ZREM', KEYS[1], id)
            n = n + c
            budget = budget - c
          else
            for _, set in ipairs({ { caller, 'caller' }, { callee, 'callee' }, { both, false } }) do
              if budget <= 0 then break end
              local gone = redis.call('ZRANGE', set[1], 0, budget - 1)
              if #gone > 0 then
                redis.call('ZREMRANGEBYRANK', set[1], 0, #gone - 1)
                if set[2] and redis.call('EXISTS', bytes) == 1 then
                  local freed = 0
                  for _, m in ipairs(gone) do freed = freed + size_of(m) end
                  redis.call('HINCRBY', bytes, set[2], -freed)
                end
                n = n + #gone
                budget = budget - #gone
              end
            end
          end
        end
        return n
        """;

    private RedisKeys Keys => storage.Keys;

    public async ValueTask<MailboxAppendResult> AppendAsync(string callId, MailboxEntry entry, MailboxBudget budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        ArgumentNullException.ThrowIfNull(entry);
        var (keys, args) = AppendArguments(callId, entry, budget);
        var result = await storage.Connection.RunAsync(nameof(AppendAsync),
            db => db.ScriptEvaluateAsync(AppendScript, keys, args), cancellationToken).ConfigureAwait(false);
        if (result.Length != 2)
        {
            return (long)result == CallNotOpen ? MailboxAppendResult.CallNotOpen : MailboxAppendResult.Full;
        }
        return MailboxAppendResult.Appended((long)result[0], (long)result[1]);
    }

    /// <summary>The keys and arguments of <see cref="AppendFunction"/> for one entry.</summary>
    internal (RedisKey[] Keys, RedisValue[] Args) AppendArguments(string callId, MailboxEntry entry, MailboxBudget budget)
    {
        var header = JsonSerializer.Serialize(new StoredHeader(entry.Type, entry.From, entry.To, entry.At.ToUnixTimeMilliseconds()), MailboxJson.Default.StoredHeader);
        var options = storage.Options;
        RedisValue[] args =
        [
            entry.To is { } to ? SideField(to) : "", header, entry.DataJson, budget.RingingBytes, budget.SideBytes,
            storage.NowMs, RedisStorage.Ms(options.MailboxRetention), RedisStorage.FloorMs,
            storage.TtlMs(storage.Time.GetUtcNow() + options.MaxCallDuration + options.MailboxRetention),
        ];
        RedisKey[] keys =
        [
            Keys.Call(callId), Keys.MailboxSeq(callId),
            entry.To is { } side ? Keys.MailboxTo(callId, side) : Keys.MailboxBoth(callId), Keys.MailboxBytes(callId),
        ];
        return (keys, args);
    }

    public async ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, CallSide side, long afterSeq, int maxCount, int maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        if (maxCount <= 0)
        {
            return [];
        }
        var result = await storage.Connection.RunAsync(nameof(ReadAsync),
            db => db.ScriptEvaluateAsync(ReadScript, [Keys.MailboxTo(callId, side), Keys.MailboxBoth(callId)], [afterSeq, maxCount, maxBytes]),
            cancellationToken).ConfigureAwait(false);
        var members = (RedisResult[])result!;
        var entries = new List<MailboxEntry>(members.Length);
        foreach (var member in members)
        {
            entries.Add(Parse((byte[])member!));
        }
        return entries;
    }

    public async ValueTask<int> AcknowledgeAsync(string callId, CallSide side, long upToSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        var result = await storage.Connection.RunAsync(nameof(AcknowledgeAsync),
            db => db.ScriptEvaluateAsync(AcknowledgeScript, [Keys.MailboxTo(callId, side), Keys.MailboxBytes(callId)], [SideField(side), upToSeq]),
            cancellationToken).ConfigureAwait(false);
        return (int)(long)result;
    }

    public async ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        var value = await storage.Connection.RunAsync(nameof(GetLastSeqAsync), db => db.StringGetAsync(Keys.MailboxSeq(callId)), cancellationToken).ConfigureAwait(false);
        return value.IsNull ? 0 : (long)value;
    }

    public async ValueTask<long> GetPendingBytesAsync(string callId, CallSide side, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        var value = await storage.Connection.RunAsync(nameof(GetPendingBytesAsync),
            db => db.HashGetAsync(Keys.MailboxBytes(callId), SideField(side)), cancellationToken).ConfigureAwait(false);
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

    /// <summary>The <c>mbox-bytes</c> field of a side.</summary>
    private static string SideField(CallSide side) => CallWireNames.ToWireName(side);

    /// <summary>Parses a member <c>"{seq}|{size}|{header json}{data}"</c>.</summary>
    private static MailboxEntry Parse(ReadOnlySpan<byte> member)
    {
        var bar = member.IndexOf((byte)'|');
        var seq = long.Parse(member[..bar], CultureInfo.InvariantCulture);
        member = member[(bar + 1)..];
        bar = member.IndexOf((byte)'|');
        var dataLength = int.Parse(member[..bar], CultureInfo.InvariantCulture) - MailboxEntry.Overhead;
        member = member[(bar + 1)..];
        var split = member.Length - dataLength;
        var header = JsonSerializer.Deserialize(member[..split], MailboxJson.Default.StoredHeader)!;
        return new MailboxEntry
        {
            Seq = seq,
            Type = header.Type,
            From = header.From,
            To = header.To,
            DataJson = Encoding.UTF8.GetString(member[split..]),
            At = DateTimeOffset.FromUnixTimeMilliseconds(header.At),
        };
    }
}

/// <summary>A mailbox entry's fields as stored before its data (its seq and size are the member's prefix).</summary>
internal sealed record StoredHeader(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("from")] string From,
    [property: JsonPropertyName("to")] CallSide? To,
    [property: JsonPropertyName("at")] long At);

[JsonSerializable(typeof(StoredHeader))]
internal sealed partial class MailboxJson : JsonSerializerContext;
