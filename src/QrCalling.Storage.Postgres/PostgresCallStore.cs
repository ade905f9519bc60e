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
        "code_media";

    private readonly PostgresDatabase _db;
    private readonly string _startFromScan, _insert, _get, _findByToken, _accept, _end, _callerPresence, _calleePresence,
        _listByOwner, _listByOwnerBefore, _listOpen, _listOpenByCode, _deleteEnded;

    public PostgresCallStore(PostgresDatabase db, string countScanSql)
    {
        _db = db;
        var s = db.Schema;
        var t = $"{s}.calls";
        // A scan counted and its call stored in one statement. The code's update holds the row lock until the insert
        // commits, so a revoke or delete of the code waits for it and then finds the call to end; when the code is
        // unavailable, nothing is inserted and no row comes back.
        _startFromScan = $"""
            WITH c AS ({countScanSql}),
            i AS (
              INSERT INTO {t} ({Columns})
              SELECT @id, c.id, c.owner_id, @caller, @callee, @token, c.label, @media, 'ringing', NULL,
                @created, @ring, @expires, NULL, NULL, NULL, NULL, NULL, c.media FROM c
              RETURNING call_id)
            SELECT c.* FROM c CROSS JOIN i
            """;
        _insert = $"""
            INSERT INTO {t} ({Columns}) VALUES (@id, @code, @owner, @caller, @callee, @token, @label, @media, @state, @reason,
              @created, @ring, @expires, @answered, @ended, @device, @callerGone, @calleeGone, @codeMedia)
            """;
        _get = $"SELECT {Columns} FROM {t} WHERE call_id = @id";
        _findByToken = $"SELECT {Columns} FROM {t} WHERE call_token_hash = @token";
        _accept = $"UPDATE {t} SET state = 'active', accepted_device_id = @device, answered_at = @now WHERE call_id = @id AND state = 'ringing' RETURNING {Columns}";
        _end = $"UPDATE {t} SET state = 'ended', end_reason = @reason, ended_at = @now WHERE call_id = @id AND state = @expected RETURNING {Columns}";
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
            Param("codeMedia", (int)call.CodeMedia),
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
    };

    private static CallState ParseState(string name) =>
        CallWireNames.TryParseState(name, out var state) ? state : throw new InvalidOperationException("Unknown call state in storage.");

    private static CallEndReason ParseReason(string name) =>
        CallWireNames.TryParseEndReason(name, out var reason) ? reason : throw new InvalidOperationException("Unknown end reason in storage.");
}
