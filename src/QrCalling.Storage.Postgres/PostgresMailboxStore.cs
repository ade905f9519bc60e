using Npgsql;
using QrCalling.Calls;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IMailboxStore"/> on <c>mailbox_heads</c> (per call: last seq, each side's unacknowledged bytes)
/// and <c>mailbox</c> (entries, with their size as a generated column), both UNLOGGED (migration 0003).
/// <para>An append is one statement: it reads the call's state, upserts the head row (whose row lock serializes the
/// appends of one call) charging the entry's size to the recipient side only if it stays within the budget, and
/// inserts the entry with the head's new seq. When the budget check fails nothing is inserted and the head is left
/// as it was, so refused appends use no seq and seqs have no gaps. An acknowledgement is one statement too: it deletes
/// the side's entries up to a seq and subtracts their sizes from the head.</para>
/// <para>The state check reads the call as of the statement's start (READ COMMITTED), without locking the call's row
/// (a lock is WAL-logged and would make every append wait for a flush): an append that starts just before a concurrent
/// end commits can still land just after the end (and after its lifecycle entry); the sweep deletes it with the
/// call.</para></summary>
internal sealed class PostgresMailboxStore : IMailboxStore
{
    private readonly PostgresDatabase _db;
    private readonly string _appendLifecycle, _appendToCaller, _appendToCallee, _callState, _read, _ackCaller, _ackCallee,
        _lastSeq, _pendingCaller, _pendingCallee, _deleteForEnded;

    public PostgresMailboxStore(PostgresDatabase db)
    {
        _db = db;
        var s = db.Schema;
        // A head row is created by a call's first append and, after a crash emptied the unlogged tables, by the next
        // one: it starts at epoch * 2^32 + 1 and bumps the call's durable mailbox_epoch (only when this statement
        // created it: its seq is the epoch's first), so seqs after a crash continue past every seq given out before.
        var bumpEpoch = $"""
            epoch AS (
              UPDATE {s}.calls SET mailbox_epoch = mailbox_epoch + 1
              WHERE call_id = @id AND state <> 'ended' AND (SELECT last_seq FROM head) = (SELECT first_seq FROM a))
            """;
        _appendLifecycle = $"""
            WITH a AS (
              SELECT (coalesce((SELECT mailbox_epoch FROM {s}.calls WHERE call_id = @id), 0)::bigint << 32) + 1 AS first_seq),
            head AS (
              INSERT INTO {s}.mailbox_heads AS h (call_id, last_seq) SELECT @id, first_seq FROM a
              ON CONFLICT (call_id) DO UPDATE SET last_seq = h.last_seq + 1
              RETURNING last_seq),
            {bumpEpoch}
            INSERT INTO {s}.mailbox (call_id, seq, type, sender, recipient, data, at)
            SELECT @id, last_seq, @type, @from, NULL, @data, @at FROM head
            RETURNING seq
            """;
        _appendToCaller = AppendToSide(s, "caller", bumpEpoch);
        _appendToCallee = AppendToSide(s, "callee", bumpEpoch);
        _callState = $"SELECT state FROM {s}.calls WHERE call_id = @id";
        // Two range scans of mailbox_side_idx (the side's entries, the lifecycle entries), merged in seq order.
        _read = $"""
            SELECT seq, type, sender, recipient, data, at, size FROM (
              (SELECT seq, type, sender, recipient, data, at, size FROM {s}.mailbox
               WHERE call_id = @id AND recipient = @side AND seq > @after ORDER BY seq LIMIT @n)
              UNION ALL
              (SELECT seq, type, sender, recipient, data, at, size FROM {s}.mailbox
               WHERE call_id = @id AND recipient IS NULL AND seq > @after ORDER BY seq LIMIT @n)) m
            ORDER BY seq LIMIT @n
            """;
        _ackCaller = Acknowledge(s, "caller");
        _ackCallee = Acknowledge(s, "callee");
        _lastSeq = $"SELECT last_seq FROM {s}.mailbox_heads WHERE call_id = @id";
        _pendingCaller = $"SELECT caller_pending FROM {s}.mailbox_heads WHERE call_id = @id";
        _pendingCallee = $"SELECT callee_pending FROM {s}.mailbox_heads WHERE call_id = @id";
        _deleteForEnded = $"""
            WITH gone AS (
              DELETE FROM {s}.mailbox WHERE ctid IN (
                SELECT m.ctid FROM {s}.calls c JOIN {s}.mailbox m ON m.call_id = c.call_id
                WHERE c.ended_at < @cutoff LIMIT @n)
              RETURNING call_id, recipient, size),
            freed AS (
              SELECT call_id,
                coalesce(sum(size) FILTER (WHERE recipient = 'caller'), 0) AS caller,
                coalesce(sum(size) FILTER (WHERE recipient = 'callee'), 0) AS callee
              FROM gone GROUP BY call_id),
            heads AS (
              UPDATE {s}.mailbox_heads h SET caller_pending = h.caller_pending - f.caller, callee_pending = h.callee_pending - f.callee
              FROM freed f WHERE h.call_id = f.call_id)
            SELECT count(*)::integer FROM gone
            """;
    }

    /// <summary>An entry to one side: only into a call that is not ended, and only if the side's pending bytes plus the
    /// entry's size stay within the budget of the call's state (checked against the head row's latest version, under
    /// its lock, by ON CONFLICT ... WHERE; a head being created only needs the entry to fit the budget).</summary>
    private static string AppendToSide(string s, string side, string bumpEpoch) => $"""
        WITH c AS (
          SELECT state, mailbox_epoch FROM {s}.calls WHERE call_id = @id AND state <> 'ended'),
        a AS (
          SELECT octet_length(@data) + {MailboxEntry.Overhead} AS size,
                 CASE WHEN state = 'ringing' THEN @ringingBytes ELSE @sideBytes END AS room,
                 (mailbox_epoch::bigint << 32) + 1 AS first_seq
          FROM c),
        head AS (
          INSERT INTO {s}.mailbox_heads AS h (call_id, last_seq, {side}_pending)
          SELECT @id, first_seq, size FROM a WHERE size <= room
          ON CONFLICT (call_id) DO UPDATE SET last_seq = h.last_seq + 1, {side}_pending = h.{side}_pending + EXCLUDED.{side}_pending
          WHERE h.{side}_pending + EXCLUDED.{side}_pending <= (SELECT room FROM a)
          RETURNING last_seq, {side}_pending AS pending),
        {bumpEpoch},
        entry AS (
          INSERT INTO {s}.mailbox (call_id, seq, type, sender, recipient, data, at)
          SELECT @id, last_seq, @type, @from, '{side}', @data, @at FROM head
          RETURNING seq)
        SELECT entry.seq, head.pending::bigint FROM entry, head
        """;

    /// <summary>Deletes a side's entries up to a seq and frees their bytes, in one statement (the head row's lock makes
    /// the subtraction exact against concurrent appends; an entry is deleted, and counted, once).</summary>
    private static string Acknowledge(string s, string side) => $"""
        WITH gone AS (
          DELETE FROM {s}.mailbox WHERE call_id = @id AND recipient = '{side}' AND seq <= @upTo
          RETURNING size),
        freed AS (
          UPDATE {s}.mailbox_heads SET {side}_pending = {side}_pending - (SELECT sum(size) FROM gone)
          WHERE call_id = @id AND EXISTS (SELECT 1 FROM gone))
        SELECT count(*)::integer FROM gone
        """;

    /// <summary>The read statement (for plan tests): parameters id, side, after, n.</summary>
    internal string ReadSql => _read;

    /// <summary>The acknowledge statement of a side (for plan tests): parameters id, upTo.</summary>
    internal string AcknowledgeSql(CallSide side) => side == CallSide.Caller ? _ackCaller : _ackCallee;

    public async ValueTask<MailboxAppendResult> AppendAsync(string callId, MailboxEntry entry, MailboxBudget budget, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        ArgumentNullException.ThrowIfNull(entry);
        NpgsqlParameter[] common =
            [Param("id", callId), Param("type", entry.Type), Param("from", entry.From), Param("data", entry.DataJson), Param("at", entry.At)];
        if (entry.To is not { } to)
        {
            var lifecycleSeq = await _db.ScalarAsync(_appendLifecycle, common, "mailbox append", cancellationToken).ConfigureAwait(false);
            return MailboxAppendResult.Appended((long)lifecycleSeq!);
        }
        var appended = await _db.SingleAsync(to == CallSide.Caller ? _appendToCaller : _appendToCallee,
            [.. common, Param("sideBytes", budget.SideBytes), Param("ringingBytes", budget.RingingBytes)],
            static r => new[] { r.GetInt64(0), r.GetInt64(1) }, "mailbox append", cancellationToken).ConfigureAwait(false);
        if (appended is [var seq, var pending])
        {
            return MailboxAppendResult.Appended(seq, pending);
        }
        // Refused (the slow path): tell a missing or ended call from a full window.
        var state = await _db.ScalarAsync(_callState, [Param("id", callId)], "mailbox append", cancellationToken).ConfigureAwait(false) as string;
        return state is null or "ended" ? MailboxAppendResult.CallNotOpen : MailboxAppendResult.Full;
    }

    public async ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, CallSide side, long afterSeq, int maxCount, int maxBytes,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        if (maxCount <= 0)
        {
            return [];
        }
        // Every entry costs at least the overhead, so no page holds more than maxBytes / overhead entries (+1: the first
        // entry is returned whatever its size): a bound that keeps LIMIT small when maxCount is huge.
        var limit = (int)Math.Min(maxCount, Math.Max(0, maxBytes) / MailboxEntry.Overhead + 1L);
        var count = 0;
        long bytes = 0;
        return await _db.ListUntilAsync(_read,
            [Param("id", callId), Param("side", SideName(side)), LongParam("after", afterSeq), Param("n", limit)],
            r =>
            {
                var size = r.GetInt32(6);
                if (count > 0 && bytes + size > maxBytes)
                {
                    return null; // the page is full: stop reading rows
                }
                count++;
                bytes += size;
                return Read(r);
            },
            "mailbox read", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<int> AcknowledgeAsync(string callId, CallSide side, long upToSeq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callId);
        return (int)(await _db.ScalarAsync(side == CallSide.Caller ? _ackCaller : _ackCallee, [Param("id", callId), LongParam("upTo", upToSeq)],
            "mailbox acknowledge", cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken) =>
        await _db.ScalarAsync(_lastSeq, [Param("id", callId)], "mailbox last seq", cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;

    public async ValueTask<long> GetPendingBytesAsync(string callId, CallSide side, CancellationToken cancellationToken) =>
        await _db.ScalarAsync(side == CallSide.Caller ? _pendingCaller : _pendingCallee, [Param("id", callId)], "mailbox pending bytes",
            cancellationToken).ConfigureAwait(false) is long bytes ? bytes : 0;

    public async ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? 0
            : (int)(await _db.ScalarAsync(_deleteForEnded, [Param("cutoff", cutoff), Param("n", maxCount)], "mailbox sweep", cancellationToken)
                .ConfigureAwait(false))!;

    private static string SideName(CallSide side) => side == CallSide.Caller ? "caller" : "callee";

    private static MailboxEntry Read(NpgsqlDataReader r) => new()
    {
        Seq = r.GetInt64(0),
        Type = r.GetString(1),
        From = r.GetString(2),
        To = r.IsDBNull(3) ? null : r.GetString(3) == "caller" ? CallSide.Caller : CallSide.Callee,
        DataJson = r.GetString(4),
        At = Time(r, 5),
    };
}
