using QrCalling.Calls;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="IMailboxStore"/>.</summary>
internal sealed class InMemoryMailboxStore : IMailboxStore
{
    public ValueTask<long> AppendAsync(string callId, MailboxEntry entry, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<IReadOnlyList<MailboxEntry>> ReadAsync(string callId, long afterSeq, int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<long> GetLastSeqAsync(string callId, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<int> DeleteForCallsEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
}
