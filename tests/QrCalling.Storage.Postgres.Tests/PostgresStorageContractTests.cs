using QrCalling.Testing;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>The shared storage contract on PostgreSQL; every test gets its own freshly migrated schema.</summary>
public sealed class PostgresStorageContractTests : StorageContractTests
{
    private string? _schema;

    protected override bool CanTellCodesWithoutBlocks => true;

    protected override async ValueTask<IStorage> CreateStorageAsync()
    {
        _schema = await PostgresTestDatabase.CreateMigratedSchemaAsync();
        return PostgresTestDatabase.Storage(_schema);
    }

    protected override async ValueTask DisposeStorageAsync(IStorage storage)
    {
        if (_schema is not null)
        {
            await PostgresTestDatabase.DropSchemaAsync(_schema);
        }
    }
}
