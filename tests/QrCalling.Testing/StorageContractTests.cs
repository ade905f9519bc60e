using QrCalling.Storage;
using Xunit;

namespace QrCalling.Testing;

/// <summary>The one storage contract every adapter must meet (in-memory, PostgreSQL, Redis). Subclass it in the
/// adapter's test project and return a fresh, isolated storage (own schema or key prefix) from
/// <see cref="CreateStorageAsync"/>. The tests live in the partial files StorageContractTests.*.cs; races included.</summary>
public abstract partial class StorageContractTests : IAsyncLifetime
{
    /// <summary>The storage under test, created once per test.</summary>
    protected IStorage Storage { get; private set; } = null!;

    /// <summary>Creates an empty storage isolated from every other test class.</summary>
    protected abstract ValueTask<IStorage> CreateStorageAsync();

    /// <summary>Releases the storage (drop schema, close connections); default does nothing.</summary>
    protected virtual ValueTask DisposeStorageAsync(IStorage storage) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async Task InitializeAsync() => Storage = await CreateStorageAsync();

    /// <inheritdoc />
    public async Task DisposeAsync() => await DisposeStorageAsync(Storage);

    /// <summary>A unique id for isolating records of one test (owner ids, code ids).</summary>
    protected static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A fixed, whole-second instant so every adapter round-trips times exactly (PostgreSQL keeps microseconds).</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
}
