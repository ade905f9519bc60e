using Npgsql;
using QrCalling.Calls;
using QrCalling.Codes;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="ICallStore"/> on the <c>calls</c> table; accept and end are conditional single-statement
/// updates, so of concurrent attempts exactly one wins.</summary>
internal sealed class PostgresCallStore : ICallStore
{
    private const string Columns = "call_id, code_id, owner_id, caller_id, callee_id, call_token_hash, label, media, state, end_reason, " +
        "created_at, ring_expires_at, expires_at, answered_at, ended_at, accepted_device_id, caller_gone_since, callee_gone_since, " +
        "code_media, delegates_rung";
    private const int ColumnCount = 20;

    private readonly PostgresDatabase _db;
    private readonly string _startFromScan, _insert, _get, _findByToken, _accept, _end, _callerPresence, _calleePresence,
        _listByOwner, _listByOwnerBefore, _listOpen, _listOpenByCode, _deleteEnded, _acceptWithEntry, _endWithEntry;

    public PostgresCallStore(PostgresDatabase db, string countScanSql)
    {
        _db = db;
        var s = db.Schema;
        var t = $"{s}.calls";
        // A scan counted and its call stored in one statement, with the head row of its mailbox (no seq given yet, epoch
        // 1: as after a first append) so that the accept and the end can append their lifecycle entry in their own
        // statement. The code's update holds the row lock until the insert
        // commits, so a revoke or delete of the code waits for it and then finds the call to end; when the code is
        // unavailable, nothing is inserted and no row comes back.
        _startFromScan = $"""
            WITH c AS ({countScanSql}),
            i AS (
              INSERT INTO {t} ({Columns}, mailbox_epoch)
              SELECT @id, c.id, c.owner_id, @caller, @callee, @token, c.label, @media, 'ringing', NULL,
                @created, @ring, @expires, NULL, NULL, NULL, NULL, NULL, c.media, false, 1 FROM c
              RETURNING call_id),
            h AS (
              INSERT INTO {s}.mailbox_heads (call_id, last_seq) SELECT call_id, 0 FROM i)
            SELECT c.* FROM c CROSS JOIN i
            """;
        _insert = $"""
            INSERT INTO {t} ({Columns}) VALUES (@id, @code, @owner, @caller, @callee, @token, @label, @media, @state, @reason,
              @created, @ring, @expires, @answered, @ended, @device, @callerGone, @calleeGone, @codeMedia, @delegatesRung)
            """;
        _get = $"SELECT {Columns} FROM {t} WHERE call_id = @id";
        _findByToken = $"SELECT {Columns} FROM {t} WHERE call_token_hash = @token";
        _accept = $"UPDATE {t} SET state = 'active', accepted_device_id = @device, answered_at = @now WHERE call_id = @id AND state = 'ringing' RETURNING {Columns}";
        _end = $"UPDATE {t} SET state = 'ended', end_reason = @reason, ended_at = @now WHERE call_id = @id AND state = @expected RETURNING {Columns}";
        // An accept or end with its lifecycle entry, in one statement, when the call has its head row (made with the call
        // by TryStartAsync). Locks are taken in the order every writer of both rows uses: the call's row, then the head's.
        // (An append that creates a head, after a crash emptied the unlogged tables or for a call stored by CreateAsync,
        // locks the new head and then the call to bump its epoch; this statement cannot see that uncommitted head, so it
        // never waits for it: it appends nothing and says so, and the caller appends the entry on its own.)
        // The accept also returns the callee's pending bytes from the head row as of its lock: 0 means no early entry was
        // stored before the accept, and an append that comes after it waits for this statement's commit, so it sees the
        // call Active.
        var stateChange = (string set, string where) => $$"""
            WITH u AS (
              UPDATE {{t}} SET {{set}} WHERE call_id = @id AND {{where}}
              RETURNING {{Columns}}),
            head AS (
              UPDATE {{s}}.mailbox_heads h SET last_seq = h.last_seq + 1
              FROM u WHERE h.call_id = @id
              RETURNING h.last_seq, h.callee_pending),
            entry AS (
              INSERT INTO {{s}}.mailbox (call_id, seq, type, sender, recipient, data, at)
              SELECT @id, last_seq, @type, @from, NULL, @data, @at FROM head)
            SELECT u.*, head.last_seq IS NOT NULL, coalesce(head.callee_pending, 0)::bigint FROM u LEFT JOIN head ON true
            """;
        _acceptWithEntry = stateChange("state = 'active', accepted_device_id = @device, answered_at = @now", "state = 'ringing'");
        _endWithEntry = stateChange("state = 'ended', end_reason = @reason, ended_at = @now", "state = @expected");
        _callerPresence = $"UPDATE {t} SET caller_gone_since = @gone WHERE call_id = @id AND state <> 'ended'";
        _calleePresence = $"UPDATE {t} SET callee_gone_since = @gone WHERE call_id = @id AND state <> 'ended'";
        _listByOwner = $"SELECT {Columns} FROM {t} WHERE owner_id = @owner ORDER BY created_at DESC, call_id DESC LIMIT @n";
        _listByOwnerBefore = $"SELECT {Columns} FROM {t} WHERE owner_id = @owner AND created_at < @before ORDER BY created_at DESC, call_id DESC LIMIT @n";
        // Most urgent first: CallRecord.NextDeadline (LEAST skips nulls), then call id in ordinal order; served by the
        // partial expression index calls_open_deadline_idx (migration 0002), whose expression this must match.
        _listOpen = $"""
            SELECT {Columns} FROM {t} WHERE state <> 'ended'
            ORDER BY LEAST(CASE WHEN state = 'ringing' THEN ring_expires_at ELSE expires_at END, caller_gone_since, callee_gone_since),
              call_id COLLATE "C"
            LIMIT @n
            """;
        _listOpenByCode = $"SELECT {Columns} FROM {t} WHERE code_id = @code AND state <> 'ended' ORDER BY created_at, call_id LIMIT @n";
        // One statement: pick a batch of ended calls, delete their mailbox entries and heads, then the calls.
        _deleteEnded = $"""
            WITH victims AS (
              SELECT call_id FROM {t} WHERE ended_at < @cutoff ORDER BY ended_at LIMIT @n FOR UPDATE SKIP LOCKED),
            entries AS (DELETE FROM {s}.mailbox m USING victims v WHERE m.call_id = v.call_id),
            heads AS (DELETE FROM {s}.mailbox_heads h USING victims v WHERE h.call_id = v.call_id)
            DELETE FROM {t} c USING victims v WHERE c.call_id = v.call_id
            """;
    }

    public ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _db.InsertAsync(_insert,
        [
            Param("id", call.CallId), Param("code", call.CodeId), Param("owner", call.OwnerId), Param("caller", call.CallerId),
            Param("callee", call.CalleeId), Param("token", call.CallTokenHash), Param("label", call.Label), Param("media", (int)call.Media),
            Param("state", CallWireNames.ToWireName(call.State)),
            Param("reason", call.EndReason is { } r ? CallWireNames.ToWireName(r) : null),
            Param("created", call.CreatedAt), Param("ring", call.RingExpiresAt), Param("expires", call.ExpiresAt),
            Param("answered", call.AnsweredAt), Param("ended", call.EndedAt), Param("device", call.AcceptedDeviceId),
            Param("callerGone", call.CallerGoneSince), Param("calleeGone", call.CalleeGoneSince),
            Param("codeMedia", (int)call.CodeMedia), new("delegatesRung", NpgsqlTypes.NpgsqlDbType.Boolean) { Value = call.DelegatesRung },
        ], "call create", cancellationToken);
    }

    /// <summary><see cref="IStorage.TryStartCallAsync"/> in one statement; the call's code fields come from the counted
    /// code's row.</summary>
    public ValueTask<CodeRecord?> TryStartAsync(byte[] keyHash, CallRecord call, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        ArgumentNullException.ThrowIfNull(call);
        return _db.SingleAsync(_startFromScan,
        [
            Param("key", keyHash), Param("now", now), Param("id", call.CallId), Param("caller", call.CallerId), Param("callee", call.CalleeId),
            Param("token", call.CallTokenHash), Param("media", (int)call.Media), Param("created", call.CreatedAt),
            Param("ring", call.RingExpiresAt), Param("expires", call.ExpiresAt),
        ], PostgresCodeStore.Read, "call start", cancellationToken);
    }

    public ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken) =>
        _db.SingleAsync(_get, [Param("id", callId)], Read, "call get", cancellationToken);

    public ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(callTokenHash);
        return _db.SingleAsync(_findByToken, [Param("token", callTokenHash)], Read, "call find", cancellationToken);
    }

    public ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken) =>
        _db.SingleAsync(_accept, [Param("id", callId), Param("device", deviceId), Param("now", now)], Read, "call accept", cancellationToken);

    public ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        expectedState == CallState.Ended
            ? ValueTask.FromResult<CallRecord?>(null)
            : _db.SingleAsync(_end,
                [Param("id", callId), Param("expected", CallWireNames.ToWireName(expectedState)), Param("reason", CallWireNames.ToWireName(reason)), Param("now", now)],
                Read, "call end", cancellationToken);

    /// <summary>The accept of <see cref="IStorage.TryAcceptCallAsync"/> with its lifecycle entry, in one statement; null
    /// when the call was not Ringing. <see cref="StateChange{T}.Appended"/> false: the call has no head row, the entry is
    /// still to append.</summary>
    public ValueTask<StateChange<CallAcceptance>?> TryAcceptWithEntryAsync(string callId, string deviceId, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        return _db.SingleAsync(_acceptWithEntry,
            [Param("id", callId), Param("device", deviceId), Param("now", now), .. EntryParams(lifecycle)],
            r => new StateChange<CallAcceptance>(
                new CallAcceptance(Read(r), MayHaveEarlyEntries: !r.GetBoolean(ColumnCount) || r.GetInt64(ColumnCount + 1) > 0), r.GetBoolean(ColumnCount)),
            "call accept", cancellationToken);
    }

    /// <summary>The end of <see cref="IStorage.TryEndCallAsync"/> with its lifecycle entry, in one statement, as above.</summary>
    public ValueTask<StateChange<CallRecord>?> TryEndWithEntryAsync(string callId, CallState expectedState, CallEndReason reason, MailboxEntry lifecycle, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        return expectedState == CallState.Ended
            ? ValueTask.FromResult<StateChange<CallRecord>?>(null)
            : _db.SingleAsync(_endWithEntry,
                [Param("id", callId), Param("expected", CallWireNames.ToWireName(expectedState)), Param("reason", CallWireNames.ToWireName(reason)),
                 Param("now", now), .. EntryParams(lifecycle)],
                r => new StateChange<CallRecord>(Read(r), r.GetBoolean(ColumnCount)), "call end", cancellationToken);
    }

    private static NpgsqlParameter[] EntryParams(MailboxEntry entry) =>
        [Param("type", entry.Type), Param("from", entry.From), Param("data", entry.DataJson), Param("at", entry.At)];

    public async ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(side == CallSide.Caller ? _callerPresence : _calleePresence, [Param("id", callId), Param("gone", goneSince)],
            "call presence", cancellationToken).ConfigureAwait(false);

    public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) =>
        Yield(() => before is { } b
            ? _db.ListAsync(_listByOwnerBefore, [Param("owner", ownerId), Param("before", b), Param("n", Math.Max(0, limit))], Read, "call list", cancellationToken)
            : _db.ListAsync(_listByOwner, [Param("owner", ownerId), Param("n", Math.Max(0, limit))], Read, "call list", cancellationToken));

    public IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken) =>
        Yield(() => _db.ListAsync(_listOpen, [Param("n", Math.Max(0, maxCount))], Read, "call list open", cancellationToken));

    public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) =>
        Yield(() => _db.ListAsync(_listOpenByCode, [Param("code", codeId), Param("n", Math.Max(0, maxCount))], Read, "call list open", cancellationToken));

    public ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? ValueTask.FromResult(0)
            : _db.ExecuteAsync(_deleteEnded, [Param("cutoff", cutoff), Param("n", maxCount)], "call sweep", cancellationToken);

    private static CallRecord Read(NpgsqlDataReader r) => new()
    {
        CallId = r.GetString(0),
        CodeId = r.GetString(1),
        OwnerId = r.GetString(2),
        CallerId = r.GetString(3),
        CalleeId = r.GetString(4),
        CallTokenHash = r.GetFieldValue<byte[]>(5),
        Label = r.GetString(6),
        Media = (MediaKind)r.GetInt32(7),
        State = ParseState(r.GetString(8)),
        EndReason = r.IsDBNull(9) ? null : ParseReason(r.GetString(9)),
        CreatedAt = Time(r, 10),
        RingExpiresAt = Time(r, 11),
        ExpiresAt = Time(r, 12),
        AnsweredAt = NullableTime(r, 13),
        EndedAt = NullableTime(r, 14),
        AcceptedDeviceId = r.IsDBNull(15) ? null : r.GetString(15),
        CallerGoneSince = NullableTime(r, 16),
        CalleeGoneSince = NullableTime(r, 17),
        CodeMedia = r.IsDBNull(18) ? MediaKinds.All : (MediaKind)r.GetInt32(18),
        DelegatesRung = r.GetBoolean(19),
    };

    private static CallState ParseState(string name) =>
        CallWireNames.TryParseState(name, out var state) ? state : throw new InvalidOperationException("Unknown call state in storage.");

    private static CallEndReason ParseReason(string name) =>
        CallWireNames.TryParseEndReason(name, out var reason) ? reason : throw new InvalidOperationException("Unknown end reason in storage.");
}

/// <summary>A state change that won, and whether its lifecycle entry was appended in the same statement.</summary>
internal sealed record StateChange<T>(T Value, bool Appended);
