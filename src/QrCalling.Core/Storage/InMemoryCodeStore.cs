using QrCalling.Codes;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICodeStore"/>.</summary>
internal sealed class InMemoryCodeStore : ICodeStore
{
    public ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken) => throw new NotImplementedException();
    public IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
}
