using QrCalling.Storage;
using QrCalling.Testing;

namespace QrCalling.Core.Tests.Storage;

/// <summary>The storage contract run against the embedded in-memory storage.</summary>
public sealed class InMemoryStorageContractTests : StorageContractTests
{
    protected override ValueTask<IStorage> CreateStorageAsync() => ValueTask.FromResult<IStorage>(new InMemoryStorage());
}
