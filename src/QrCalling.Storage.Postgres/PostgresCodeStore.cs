using Npgsql;
using QrCalling.Codes;
using static QrCalling.Storage.Postgres.PostgresDatabase;

namespace QrCalling.Storage.Postgres;

/// <summary><see cref="ICodeStore"/> on the <c>codes</c> table; every atomic operation is one statement.</summary>
internal sealed class PostgresCodeStore : ICodeStore
{
    private const string Columns = "id, owner_id, key_hash, label, media, created_at, expires_at, max_scans, scan_count, last_scanned_at, revoked_at, paused_at";

    private readonly PostgresDatabase _db;
    private readonly string _insert, _findByKey, _findWithControls, _findById, _listByOwner, _countScan, _revoke, _deleteStale, _update, _delete, _pause, _resume;

    public PostgresCodeStore(PostgresDatabase db)
    {
        _db = db;
        var t = $"{db.Schema}.codes";
        _insert = $"INSERT INTO {t} ({Columns}) VALUES (@id, @owner, @key, @label, @media, @created, @expires, @max, @count, @last, @revoked, @paused)";
        _findByKey = $"SELECT {Columns} FROM {t} WHERE key_hash = @key";
        _findById = $"SELECT {Columns} FROM {t} WHERE id = @id AND owner_id = @owner";
        // A caller's look-up: the code, its policy and whether it has any block, in one statement (IStorage.FindCodeWithControlsAsync).
        var prefixed = string.Join(", ", Columns.Split(", ").Select(c => "c." + c));
        _findWithControls = $"""
            SELECT {prefixed}, p.chat_only, p.quiet_start, p.quiet_end, p.quiet_days, p.time_zone,
              EXISTS (SELECT 1 FROM {db.Schema}.caller_blocks b WHERE b.code_id = c.id)
            FROM {t} c LEFT JOIN {db.Schema}.code_policies p ON p.code_id = c.id
            WHERE c.key_hash = @key
            """;
        _listByOwner = $"SELECT {Columns} FROM {t} WHERE owner_id = @owner ORDER BY created_at DESC, id DESC";
        // The whole "count a scan unless the code is unavailable" rule in one statement: the row lock makes concurrent
        // scans of one code queue up, and each re-checks scan_count < max_scans on the latest row version.
        _countScan = $"""
            UPDATE {t} SET scan_count = scan_count + 1, last_scanned_at = @now
            WHERE key_hash = @key AND revoked_at IS NULL AND paused_at IS NULL AND (expires_at IS NULL OR expires_at > @now)
              AND (max_scans IS NULL OR scan_count < max_scans)
            RETURNING {Columns}
            """;
        _revoke = $"UPDATE {t} SET revoked_at = @now WHERE id = @id AND owner_id = @owner AND revoked_at IS NULL";
        // Sets only the fields given: a concurrent scan's scan_count update and this one queue on the row lock.
        _update = $"UPDATE {t} SET label = COALESCE(@label, label), media = COALESCE(@media, media) WHERE id = @id AND owner_id = @owner RETURNING {Columns}";
        _delete = $"DELETE FROM {t} WHERE id = @id AND owner_id = @owner";
        // One statement each: the row lock orders a pause against concurrent scans (a scan after it sees paused_at).
        _pause = $"UPDATE {t} SET paused_at = COALESCE(paused_at, @paused) WHERE id = @id AND owner_id = @owner RETURNING {Columns}";
        _resume = $"UPDATE {t} SET paused_at = NULL WHERE id = @id AND owner_id = @owner RETURNING {Columns}";
        _deleteStale = $"""
            DELETE FROM {t} WHERE id IN (
              SELECT id FROM {t} WHERE expires_at < @cutoff
              UNION
              SELECT id FROM {t} WHERE revoked_at < @cutoff
              LIMIT @n)
            """;
    }

    public ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(code);
        return _db.InsertAsync(_insert,
        [
            Param("id", code.Id), Param("owner", code.OwnerId), Param("key", code.KeyHash), Param("label", code.Label),
            Param("media", (int)code.Media), Param("created", code.CreatedAt), Param("expires", code.ExpiresAt),
            Param("max", code.MaxScans), Param("count", code.ScanCount), Param("last", code.LastScannedAt), Param("revoked", code.RevokedAt),
            Param("paused", code.PausedAt),
        ], "code create", cancellationToken);
    }

    public ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        return _db.SingleAsync(_findByKey, [Param("key", keyHash)], Read, "code find", cancellationToken);
    }

    /// <summary>See <see cref="IStorage.FindCodeWithControlsAsync"/>.</summary>
    internal ValueTask<CodeWithControls?> FindWithControlsAsync(byte[] keyHash, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        return _db.SingleAsync(_findWithControls, [Param("key", keyHash)],
            r => new CodeWithControls(Read(r), r.IsDBNull(12) ? CallPolicy.None : PostgresCallerControlStore.ReadPolicy(r, 12), r.GetBoolean(17)),
            "code find with controls", cancellationToken);
    }

    public ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken) =>
        _db.SingleAsync(_findById, [Param("id", codeId), Param("owner", ownerId)], Read, "code find", cancellationToken);

    public IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) =>
        Yield(() => _db.ListAsync(_listByOwner, [Param("owner", ownerId)], Read, "code list", cancellationToken));

    /// <summary>The statement of <see cref="TryCountScanAsync"/> (parameters <c>@key</c>, <c>@now</c>; returns the code's
    /// columns in <see cref="Read"/>'s order), for statements that count a scan together with something else.</summary>
    internal string CountScanSql => _countScan;

    public ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyHash);
        return _db.SingleAsync(_countScan, [Param("key", keyHash), Param("now", now)], Read, "code scan", cancellationToken);
    }

    public async ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_revoke, [Param("id", codeId), Param("owner", ownerId), Param("now", now)], "code revoke", cancellationToken)
            .ConfigureAwait(false) == 1;

    public ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        maxCount <= 0
            ? ValueTask.FromResult(0)
            : _db.ExecuteAsync(_deleteStale, [Param("cutoff", cutoff), Param("n", maxCount)], "code sweep", cancellationToken);

    public ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken) =>
        _db.SingleAsync(_update,
            [Param("id", codeId), Param("owner", ownerId), Param("label", label), Param("media", media is { } m ? (int)m : null)],
            Read, "code update", cancellationToken);

    public async ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken) =>
        await _db.ExecuteAsync(_delete, [Param("id", codeId), Param("owner", ownerId)], "code delete", cancellationToken).ConfigureAwait(false) == 1;

    public ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken) =>
        pausedAt is { } at
            ? _db.SingleAsync(_pause, [Param("id", codeId), Param("owner", ownerId), Param("paused", at)], Read, "code pause", cancellationToken)
            : _db.SingleAsync(_resume, [Param("id", codeId), Param("owner", ownerId)], Read, "code resume", cancellationToken);

    internal static CodeRecord Read(NpgsqlDataReader r) => new()
    {
        Id = r.GetString(0),
        OwnerId = r.GetString(1),
        KeyHash = r.GetFieldValue<byte[]>(2),
        Label = r.GetString(3),
        Media = (MediaKind)r.GetInt32(4),
        CreatedAt = Time(r, 5),
        ExpiresAt = NullableTime(r, 6),
        MaxScans = r.IsDBNull(7) ? null : r.GetInt32(7),
        ScanCount = r.GetInt32(8),
        LastScannedAt = NullableTime(r, 9),
        RevokedAt = NullableTime(r, 10),
        PausedAt = NullableTime(r, 11),
    };
}
