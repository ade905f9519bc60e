using Npgsql;
using NpgsqlTypes;
using QrCalling.Codes;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="ICallerControlStore"/> on the <c>code_policies</c>, <c>caller_blocks</c> and <c>call_callers</c>
/// tables (migration 0007). Their rows reference the code with <c>ON DELETE CASCADE</c>, so they go in the code's own
/// delete; an insert for a code that is gone (or being deleted) fails on the foreign key and stores nothing.</summary>
internal sealed class PostgresCallerControlStore : ICallerControlStore
{
    private readonly PostgresDatabase _db;
    private readonly string _getPolicy, _setPolicy, _deletePolicy, _admission, _block, _findBlock, _listBlocks, _unblock,
        _recordCaller, _findCaller, _deleteExpired;

    public PostgresCallerControlStore(PostgresDatabase db)
    {
        _db = db;
        var policies = $"{db.Schema}.code_policies";
        var blocks = $"{db.Schema}.caller_blocks";
        var callers = $"{db.Schema}.call_callers";
        var codes = $"{db.Schema}.codes";
        const string PolicyColumns = "chat_only, quiet_start, quiet_end, quiet_days, time_zone";
        _getPolicy = $"SELECT {PolicyColumns} FROM {policies} WHERE code_id = @code";
        _setPolicy = $"""
            INSERT INTO {policies} (code_id, {PolicyColumns}) SELECT @code, @chat, @qs, @qe, @qd, @tz
            WHERE EXISTS (SELECT 1 FROM {codes} WHERE id = @code)
            ON CONFLICT (code_id) DO UPDATE SET chat_only = excluded.chat_only, quiet_start = excluded.quiet_start,
              quiet_end = excluded.quiet_end, quiet_days = excluded.quiet_days, time_zone = excluded.time_zone
            """;
        _deletePolicy = $"""
            WITH d AS (DELETE FROM {policies} WHERE code_id = @code)
            SELECT EXISTS (SELECT 1 FROM {codes} WHERE id = @code)
            """;
        _admission = $"""
            SELECT p.chat_only, p.quiet_start, p.quiet_end, p.quiet_days, p.time_zone,
              EXISTS (SELECT 1 FROM {blocks} b WHERE b.code_id = @code AND b.pseudonym = ANY(@ps))
            FROM (SELECT 1) one LEFT JOIN {policies} p ON p.code_id = @code
            """;
        _block = $"""
            INSERT INTO {blocks} (block_id, code_id, pseudonym, created_at) SELECT @id, @code, @p, @at
            WHERE EXISTS (SELECT 1 FROM {codes} WHERE id = @code)
            ON CONFLICT (code_id, pseudonym) DO NOTHING
            RETURNING block_id, code_id, pseudonym, created_at
            """;
        _findBlock = $"SELECT block_id, code_id, pseudonym, created_at FROM {blocks} WHERE code_id = @code AND pseudonym = @p";
        _listBlocks = $"SELECT block_id, code_id, pseudonym, created_at FROM {blocks} WHERE code_id = @code ORDER BY created_at DESC, block_id DESC";
        _unblock = $"DELETE FROM {blocks} WHERE code_id = @code AND block_id = @id";
        _recordCaller = $"""
            INSERT INTO {callers} (call_id, code_id, pseudonym, expires_at) SELECT @call, @code, @p, @exp
            WHERE EXISTS (SELECT 1 FROM {codes} WHERE id = @code)
            ON CONFLICT (call_id) DO UPDATE SET pseudonym = excluded.pseudonym, expires_at = excluded.expires_at
            """;
        _findCaller = $"SELECT call_id, code_id, pseudonym, expires_at FROM {callers} WHERE call_id = @call";
        _deleteExpired = $"DELETE FROM {callers} WHERE call_id IN (SELECT call_id FROM {callers} WHERE expires_at <= @now LIMIT @n)";
    }

    public async ValueTask<CallPolicy> GetPolicyAsync(string codeId, CancellationToken cancellationToken) =>
        await _db.SingleAsync(_getPolicy, [Param("code", codeId)], r => ReadPolicy(r, 0), "caller controls get policy", cancellationToken)
            .ConfigureAwait(false) ?? CallPolicy.None;

    public async ValueTask<bool> SetPolicyAsync(string codeId, CallPolicy policy, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.IsEmpty)
        {
            return (bool)(await _db.ScalarAsync(_deletePolicy, [Param("code", codeId)], "caller controls clear policy", cancellationToken)
                .ConfigureAwait(false))!;
        }
        var quiet = policy.QuietHours;
        NpgsqlParameter[] parameters =
        [
            Param("code", codeId),
            new("chat", NpgsqlDbType.Boolean) { Value = policy.ChatOnly },
            Small("qs", quiet is null ? null : Minutes(quiet.Start)),
            Small("qe", quiet is null ? null : Minutes(quiet.End)),
            Small("qd", quiet is null ? null : (short)quiet.Days),
            Param("tz", quiet?.TimeZone),
        ];
        return await InsertUnlessCodeGoneAsync(_setPolicy, parameters, "caller controls set policy", cancellationToken).ConfigureAwait(false) > 0;
    }

    public async ValueTask<CallerAdmission> GetAdmissionAsync(string codeId, IReadOnlyList<byte[]> pseudonyms, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pseudonyms);
        var result = await _db.SingleAsync(_admission,
            [Param("code", codeId), new NpgsqlParameter("ps", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = pseudonyms.ToArray() }],
            r => new Tuple<CallPolicy, bool>(r.IsDBNull(0) ? CallPolicy.None : ReadPolicy(r, 0), r.GetBoolean(5)),
            "caller controls admission", cancellationToken).ConfigureAwait(false);
        return result is null ? new CallerAdmission(CallPolicy.None, false) : new CallerAdmission(result.Item1, result.Item2);
    }

    public async ValueTask<CallerBlock?> BlockAsync(CallerBlock block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        try
        {
            var inserted = await _db.SingleAsync(_block,
                [Param("id", block.BlockId), Param("code", block.CodeId), Param("p", block.Pseudonym), Param("at", block.CreatedAt)],
                ReadBlock, "caller controls block", cancellationToken).ConfigureAwait(false);
            if (inserted is not null)
            {
                return inserted;
            }
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return null;
        }
        // Not inserted: the caller is blocked already (possibly by a concurrent block that committed after this
        // statement's snapshot, hence a second statement), or the code is gone.
        return await _db.SingleAsync(_findBlock, [Param("code", block.CodeId), Param("p", block.Pseudonym)], ReadBlock,
            "caller controls find block", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<CallerBlock>> ListBlocksAsync(string codeId, CancellationToken cancellationToken) =>
        await _db.ListAsync(_listBlocks, [Param("code", codeId)], ReadBlock, "caller controls list blocks", cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> UnblockAsync(string codeId, string blockId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_unblock, [Param("code", codeId), Param("id", blockId)], "caller controls unblock", cancellationToken)
            .ConfigureAwait(false) > 0;

    public async ValueTask RecordCallerAsync(CallCaller caller, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await InsertUnlessCodeGoneAsync(_recordCaller,
            [Param("call", caller.CallId), Param("code", caller.CodeId), Param("p", caller.Pseudonym), Param("exp", caller.ExpiresAt)],
            "caller controls record caller", cancellationToken).ConfigureAwait(false);
    }

    public ValueTask<CallCaller?> FindCallerAsync(string callId, CancellationToken cancellationToken) =>
        _db.SingleAsync(_findCaller, [Param("call", callId)], r => new CallCaller
        {
            CallId = r.GetString(0),
            CodeId = r.GetString(1),
            Pseudonym = r.GetFieldValue<byte[]>(2),
            ExpiresAt = Time(r, 3),
        }, "caller controls find caller", cancellationToken);

    public ValueTask<int> DeleteExpiredCallersAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        _db.ExecuteAsync(_deleteExpired, [Param("now", now), Param("n", maxCount)], "caller controls sweep", cancellationToken);

    private async ValueTask<int> InsertUnlessCodeGoneAsync(string sql, NpgsqlParameter[] parameters, string operation, CancellationToken cancellationToken)
    {
        try
        {
            return await _db.ExecuteAsync(sql, parameters, operation, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return 0; // the code was deleted meanwhile: nothing is kept for it
        }
    }

    private static CallerBlock ReadBlock(NpgsqlDataReader r) => new()
    {
        BlockId = r.GetString(0),
        CodeId = r.GetString(1),
        Pseudonym = r.GetFieldValue<byte[]>(2),
        CreatedAt = Time(r, 3),
    };

    internal static CallPolicy ReadPolicy(NpgsqlDataReader r, int at) => new()
    {
        ChatOnly = r.GetBoolean(at),
        QuietHours = r.IsDBNull(at + 1) ? null : new QuietHours
        {
            Start = TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(r.GetInt16(at + 1))),
            End = TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(r.GetInt16(at + 2))),
            Days = (QuietDays)r.GetInt16(at + 3),
            TimeZone = r.GetString(at + 4),
        },
    };

    private static short Minutes(TimeOnly time) => (short)(time.Hour * 60 + time.Minute);

    private static NpgsqlParameter Small(string name, short? value) =>
        new(name, NpgsqlDbType.Smallint) { Value = (object?)value ?? DBNull.Value };
}
