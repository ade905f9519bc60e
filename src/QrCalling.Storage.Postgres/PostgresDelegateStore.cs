using Npgsql;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="IDelegateStore"/> on the <c>delegate_invitations</c>, <c>delegates</c> and <c>delegate_rings</c>
/// tables. Redeeming an invitation is one transaction: the invitation row locked (<c>FOR UPDATE</c>), then a
/// transaction-level advisory lock keyed by the code so concurrent redemptions cannot pass the cap together. A ring mark
/// is one statement: <c>INSERT … ON CONFLICT DO NOTHING</c> and the call's <c>delegates_rung</c>.</summary>
internal sealed class PostgresDelegateStore : IDelegateStore
{
    private const string Columns = "delegate_id, code_id, owner_id, delegate_owner_id, ring_after_ms, created_at";

    private readonly PostgresDatabase _db;
    private readonly string _createInvitation, _lockInvitation, _deleteInvitation, _existing, _count, _insert, _deleteExpired, _get, _byCode,
        _byDelegate, _delete, _deleteByCode, _eraseDelegates, _eraseInvitations, _mark, _rung, _deleteRings;

    public PostgresDelegateStore(PostgresDatabase db)
    {
        _db = db;
        var i = $"{db.Schema}.delegate_invitations";
        var d = $"{db.Schema}.delegates";
        var r = $"{db.Schema}.delegate_rings";
        _createInvitation = $"""
            INSERT INTO {i} (secret_hash, owner_id, code_id, ring_after_ms, expires_at)
            SELECT @hash, @owner, @code, @ring, @expires WHERE EXISTS (SELECT 1 FROM {db.Schema}.codes WHERE id = @code)
            """;
        _lockInvitation = $"SELECT owner_id, code_id, ring_after_ms, expires_at FROM {i} WHERE secret_hash = @hash FOR UPDATE";
        _deleteInvitation = $"DELETE FROM {i} WHERE secret_hash = @hash";
        _existing = $"SELECT {Columns} FROM {d} WHERE code_id = @code AND delegate_owner_id = @account";
        _count = $"SELECT count(*) FROM {d} WHERE code_id = @code";
        _insert = $"INSERT INTO {d} ({Columns}) VALUES (@id, @code, @owner, @account, @ring, @created) RETURNING {Columns}";
        _deleteExpired = $"DELETE FROM {i} WHERE secret_hash IN (SELECT secret_hash FROM {i} WHERE expires_at <= @now LIMIT @max)";
        _get = $"SELECT {Columns} FROM {d} WHERE delegate_id = @id";
        _byCode = $"SELECT {Columns} FROM {d} WHERE code_id = @code ORDER BY created_at, delegate_id";
        _byDelegate = $"SELECT {Columns} FROM {d} WHERE delegate_owner_id = @account ORDER BY created_at, delegate_id";
        _delete = $"DELETE FROM {d} WHERE delegate_id = @id AND (owner_id = @account OR delegate_owner_id = @account)";
        _deleteByCode = $"DELETE FROM {d} WHERE code_id = @code";
        _eraseDelegates = $"DELETE FROM {d} WHERE owner_id = @account OR delegate_owner_id = @account";
        _eraseInvitations = $"DELETE FROM {i} WHERE owner_id = @account";
        // The mark and the call's delegates_rung in one statement: an accept or end (which lock the call's row too) either
        // comes first and returns the flag false, or waits for this commit and returns it true with the mark visible.
        _mark = $"""
            WITH m AS (
              INSERT INTO {r} (call_id, delegate_id, delegate_owner_id, expires_at) VALUES (@call, @id, @account, @expires)
              ON CONFLICT DO NOTHING RETURNING call_id),
            f AS (
              UPDATE {db.Schema}.calls c SET delegates_rung = true FROM m WHERE c.call_id = m.call_id AND NOT c.delegates_rung)
            SELECT count(*) FROM m
            """;
        _rung = $"SELECT call_id, delegate_id, delegate_owner_id FROM {r} WHERE call_id = @call ORDER BY delegate_id";
        _deleteRings = $"""
            DELETE FROM {r} WHERE (call_id, delegate_id) IN (SELECT call_id, delegate_id FROM {r} WHERE expires_at <= @now LIMIT @max)
            """;
    }

    public async ValueTask CreateInvitationAsync(DelegateInvitation invitation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(invitation);
        await _db.ExecuteAsync(_createInvitation,
            [Param("hash", invitation.SecretHash), Param("owner", invitation.OwnerId), Param("code", invitation.CodeId),
             Param("ring", (int)invitation.RingAfter.TotalMilliseconds), Param("expires", invitation.ExpiresAt)],
            "delegate invitation create", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<DelegateAcceptResult> AcceptInvitationAsync(byte[] secretHash, string accountId, string delegateId, DateTimeOffset now,
        int maxPerCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretHash);
        ArgumentNullException.ThrowIfNull(accountId);
        try
        {
            await using var connection = await _db.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            string? owner = null, code = null;
            var ringMs = 0;
            await using (var select = new NpgsqlCommand(_lockInvitation, connection, tx))
            {
                select.Parameters.Add(Param("hash", secretHash));
                await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && Time(reader, 3) > now)
                {
                    (owner, code, ringMs) = (reader.GetString(0), reader.GetString(1), reader.GetInt32(2));
                }
            }
            if (owner is null || code is null)
            {
                return new DelegateAcceptResult(DelegateAcceptStatus.InvitationUnavailable, null);
            }
            if (owner == accountId)
            {
                return new DelegateAcceptResult(DelegateAcceptStatus.OwnInvitation, null);
            }
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))", connection, tx))
            {
                lockCommand.Parameters.AddWithValue("key", "qrcalling.delegates:" + _db.Schema + ":" + code);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            var record = await ReadOneAsync(connection, tx, _existing, [Param("code", code), Param("account", accountId)], cancellationToken).ConfigureAwait(false);
            if (record is null)
            {
                await using (var count = new NpgsqlCommand(_count, connection, tx))
                {
                    count.Parameters.Add(Param("code", code));
                    if (Convert.ToInt64(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) >= maxPerCode)
                    {
                        return new DelegateAcceptResult(DelegateAcceptStatus.QuotaExceeded, null);
                    }
                }
                record = await ReadOneAsync(connection, tx, _insert,
                    [Param("id", delegateId), Param("code", code), Param("owner", owner), Param("account", accountId), Param("ring", ringMs), Param("created", now)],
                    cancellationToken).ConfigureAwait(false);
            }
            await using (var delete = new NpgsqlCommand(_deleteInvitation, connection, tx))
            {
                delete.Parameters.Add(Param("hash", secretHash));
                await delete.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new DelegateAcceptResult(DelegateAcceptStatus.Accepted, record);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            return new DelegateAcceptResult(DelegateAcceptStatus.InvitationUnavailable, null); // the code was deleted meanwhile
        }
        catch (Exception ex) when (IsUnavailable(ex, cancellationToken))
        {
            throw _db.Unavailable(ex, "delegate accept");
        }
    }

    private static async ValueTask<DelegateRecord?> ReadOneAsync(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, NpgsqlParameter[] parameters,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? Read(reader) : null;
    }

    public async ValueTask<int> DeleteExpiredInvitationsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deleteExpired, [Param("now", now), Param("max", maxCount)], "delegate invitation sweep", cancellationToken).ConfigureAwait(false);

    public async ValueTask<DelegateRecord?> GetAsync(string delegateId, CancellationToken cancellationToken) =>
        await _db.SingleAsync(_get, [Param("id", delegateId)], Read, "delegate get", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<DelegateRecord>> ListByCodeAsync(string codeId, CancellationToken cancellationToken) =>
        await _db.ListAsync(_byCode, [Param("code", codeId)], Read, "delegate list", cancellationToken).ConfigureAwait(false);

    public async ValueTask<IReadOnlyList<DelegateRecord>> ListByDelegateAsync(string delegateOwnerId, CancellationToken cancellationToken) =>
        await _db.ListAsync(_byDelegate, [Param("account", delegateOwnerId)], Read, "delegate list", cancellationToken).ConfigureAwait(false);

    public async ValueTask<bool> DeleteAsync(string delegateId, string accountId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("id", delegateId), Param("account", accountId)], "delegate delete", cancellationToken).ConfigureAwait(false) > 0;

    public async ValueTask<int> DeleteByCodeAsync(string codeId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deleteByCode, [Param("code", codeId)], "delegate delete", cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> EraseAccountAsync(string accountId, CancellationToken cancellationToken)
    {
        var deleted = await _db.ExecuteAsync(_eraseDelegates, [Param("account", accountId)], "delegate erase", cancellationToken).ConfigureAwait(false);
        await _db.ExecuteAsync(_eraseInvitations, [Param("account", accountId)], "delegate erase", cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    public async ValueTask<bool> TryMarkRungAsync(DelegateRing ring, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ring);
        return Convert.ToInt64(await _db.ScalarAsync(_mark,
            [Param("call", ring.CallId), Param("id", ring.DelegateId), Param("account", ring.DelegateOwnerId), Param("expires", expiresAt)],
            "delegate ring mark", cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 1;
    }

    public async ValueTask<IReadOnlyList<DelegateRing>> ListRungAsync(string callId, CancellationToken cancellationToken) =>
        await _db.ListAsync(_rung, [Param("call", callId)], r => new DelegateRing(r.GetString(0), r.GetString(1), r.GetString(2)), "delegate rings",
            cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> DeleteExpiredRingsAsync(DateTimeOffset now, int maxCount, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_deleteRings, [Param("now", now), Param("max", maxCount)], "delegate ring sweep", cancellationToken).ConfigureAwait(false);

    private static DelegateRecord Read(NpgsqlDataReader r) => new()
    {
        DelegateId = r.GetString(0),
        CodeId = r.GetString(1),
        OwnerId = r.GetString(2),
        DelegateOwnerId = r.GetString(3),
        RingAfter = TimeSpan.FromMilliseconds(r.GetInt32(4)),
        CreatedAt = Time(r, 5),
    };
}
