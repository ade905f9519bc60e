namespace QrCalling.Storage.Postgres;

internal sealed partial class PostgresStorage : IOwnerDataStore
{
    /// <inheritdoc />
    public async ValueTask<OwnerDataErasure> EraseOwnerAsync(string ownerId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ownerId);
        var delegates = await Delegates.EraseAccountAsync(ownerId, cancellationToken).ConfigureAwait(false);
        var s = _db.Schema;
        // One statement, so one transaction: every data-modifying CTE runs, on the same snapshot.
        var sql = $"""
            WITH c AS (DELETE FROM {s}.calls WHERE owner_id = @owner RETURNING call_id),
                 mb AS (DELETE FROM {s}.mailbox WHERE call_id IN (SELECT call_id FROM c) RETURNING 1),
                 mh AS (DELETE FROM {s}.mailbox_heads WHERE call_id IN (SELECT call_id FROM c) RETURNING 1),
                 co AS (DELETE FROM {s}.codes WHERE owner_id = @owner RETURNING 1),
                 p AS (DELETE FROM {s}.push_subscriptions WHERE owner_id = @owner RETURNING 1),
                 mk AS (DELETE FROM {s}.message_keys WHERE owner_id = @owner RETURNING 1),
                 m AS (DELETE FROM {s}.messages WHERE owner_id = @owner RETURNING 1),
                 d AS (DELETE FROM {s}.devices WHERE owner_id = @owner RETURNING 1),
                 dp AS (DELETE FROM {s}.device_pairings WHERE owner_id = @owner RETURNING 1),
                 b AS (DELETE FROM {s}.backups WHERE owner_id = @owner RETURNING 1),
                 bh AS (DELETE FROM {s}.backup_heads WHERE owner_id = @owner RETURNING 1)
            SELECT (SELECT count(*) FROM co)::int, (SELECT count(*) FROM c)::int, (SELECT count(*) FROM p)::int,
                   (SELECT count(*) FROM m)::int, (SELECT count(*) FROM mb)::int, (SELECT count(*) FROM mh)::int,
                   (SELECT count(*) FROM mk)::int, (SELECT count(*) FROM d)::int, (SELECT count(*) FROM b)::int,
                   (SELECT count(*) FROM dp)::int, (SELECT count(*) FROM bh)::int
            """;
        var counts = await _db.SingleAsync(sql, [PostgresDatabase.Param("owner", ownerId)],
            r => new int[] { r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(7), r.GetInt32(8) }, "erase-owner", cancellationToken).ConfigureAwait(false);
        return counts is null ? default : new OwnerDataErasure(counts[0], counts[1], counts[2], counts[3]) { Devices = counts[4], Backups = counts[5], Delegates = delegates };
    }
}
