using Npgsql;
using QrCalling.Calls;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IMailboxStore"/> on <c>mailbox_heads</c> (last seq per call) and <c>mailbox</c> (entries). An
/// append is one statement: it bumps the head row (whose row lock serializes appends to one call) and inserts the entry
/// with that seq; if the insert fails the bump is rolled back with it, so seqs have no gaps.</summary>
internal sealed class PostgresMailboxStore : IMailboxStore
{
    private readonly PostgresDatabase _db;
    private readonly string _append, _read, _lastSeq, _deleteForEnded;

    public PostgresMailboxStore(PostgresDatabase db)
    {
        _db = db;
        var s = db.Schema;
        _append = $"""
            WITH head AS (
              INSERT INTO {s}.mailbox_heads AS h (call_id, last_seq) VALUES (@id, 1)
              ON CONFLICT (call_id) DO UPDATE SET last_seq = h.last_seq + 1
              RETURNING last_seq)
            INSERT INTO {s}.mailbox (call_id, seq, type, sender, recipient, data, at)
            SELECT @id, last_seq, @type, @from, @to, @data, @at FROM head
            RETURNING seq
            """;
        _read = $"SELECT seq, type, sender, recipient, data, at FROM {s}.mailbox WHERE call_id = @id AND seq > @after ORDER BY seq LIMIT @n";
        _lastSeq = $"SELECT last_seq FROM {s}.mailbox_heads WHERE call_id = @id";
        _deleteForEnded = $"""
            DELETE FROM {s}.mailbox WHERE ctid IN (
              SELECT m.ctid FROM {s}.calls c JOIN {s}.mailbox m ON m.call_id = c.call_id
              WHERE c.ended_at < @cutoff LIMIT @n)
            """;
    }

    public async ValueTask<long> AppendAsync(string callId, MailboxEntry entry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var to = entry.To switch { CallSide.Caller => "caller", CallSide.Callee => "callee", _ => null };
        return (long)(await _db.ScalarAsync(_append,
            [Param("id", callId), Param("type", entry.Type), Param("from", entry.From), Param("to", to), Param("data", entry.DataJson), Param("at", entry.At)],
            "mailbox append", cancellationToken).ConfigureAwait(false))!;
    }

    public async ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, long afterSeq, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? []
            : await _db.ListAsync(_read, [Param("id", callId), LongParam("after", afterSeq), Param("n", maxCount)], Read, "mailbox read", cancellationToken)
                .ConfigureAwait(false);

    public async ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken) =>
        await _db.ScalarAsync(_lastSeq, [Param("id", callId)], "mailbox last seq", cancellationToken).ConfigureAwait(false) is long seq ? seq : 0;

    public ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? ValueTask.FromResult(0)
            : _db.ExecuteAsync(_deleteForEnded, [Param("cutoff", cutoff), Param("n", maxCount)], "mailbox sweep", cancellationToken);

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
