using QrCalling.Calls;

namespace QrCalling.Storage;

/// <summary>In-memory <see cref="ICallStore"/>; deleting a call deletes its mailbox.</summary>
internal sealed class InMemoryCallStore : ICallStore
{
    private readonly InMemoryMailboxStore _mailbox;

    public InMemoryCallStore(InMemoryMailboxStore mailbox) => _mailbox = mailbox;

    public ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken) => throw new NotImplementedException();
    public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) => throw new NotImplementedException();
    public IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
    public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
    public ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => throw new NotImplementedException();
}
