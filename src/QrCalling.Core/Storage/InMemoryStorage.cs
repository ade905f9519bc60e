namespace QrCalling.Storage;

/// <summary>The embedded default: thread-safe in-memory storage, lost on restart. Atomic operations use per-record locks.</summary>
public sealed class InMemoryStorage : IStorage
{
    /// <inheritdoc />
    public ICodeStore Codes => throw new NotImplementedException();
    /// <inheritdoc />
    public ICallStore Calls => throw new NotImplementedException();
    /// <inheritdoc />
    public IMailboxStore Mailbox => throw new NotImplementedException();
    /// <inheritdoc />
    public ValueTask PingAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
