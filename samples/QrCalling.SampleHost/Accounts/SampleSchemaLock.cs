using Npgsql;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Serializes the sample's schema creation across host instances. Concurrent <c>CREATE SCHEMA/TABLE IF NOT
/// EXISTS</c> statements for the same names can fail with a unique violation in PostgreSQL's catalog (two instances
/// starting at once on a fresh database: the account store and the admin store create tables in the same schema), so
/// every store that creates tables in a schema takes that schema's one transaction-level advisory lock first.</summary>
internal static class SampleSchemaLock
{
    /// <summary>Takes the lock of <paramref name="schema"/> (its plain name) in <paramref name="transaction"/>; it is
    /// released when the transaction ends.</summary>
    public static async Task AcquireAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string schema, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", connection, transaction);
        command.Parameters.Add(new() { Value = "qrcalling.sample.schema:" + schema });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
