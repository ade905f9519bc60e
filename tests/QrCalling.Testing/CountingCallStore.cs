using QrCalling.Calls;
using QrCalling.Storage;

namespace QrCalling.Testing;

/// <summary>A call store that counts reads of one call by id (<see cref="Reads"/>) and by call-token hash
/// (<see cref="TokenLookups"/>), and passes everything through.</summary>
public sealed class CountingCallStore(ICallStore inner) : ICallStore
{
    private int _reads;
    private int _tokenLookups;

    /// <summary>How many <see cref="ICallStore.GetAsync"/> calls were made.</summary>
    public int Reads => Volatile.Read(ref _reads);

    /// <summary>How many <see cref="ICallStore.FindByTokenHashAsync"/> calls were made.</summary>
    public int TokenLookups => Volatile.Read(ref _tokenLookups);

    /// <inheritdoc />
    public ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        return inner.GetAsync(callId, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _tokenLookups);
        return inner.FindByTokenHashAsync(callTokenHash, cancellationToken);
    }

    /// <inheritdoc />
    public ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken) => inner.CreateAsync(call, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.TryAcceptAsync(callId, deviceId, now, cancellationToken);

    /// <inheritdoc />
    public ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken) =>
        inner.TryEndAsync(callId, expectedState, reason, now, cancellationToken);

    /// <inheritdoc />
    public ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken) =>
        inner.SetPresenceAsync(callId, side, goneSince, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) =>
        inner.ListByOwnerAsync(ownerId, limit, before, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken) => inner.ListOpenAsync(maxCount, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) =>
        inner.ListOpenByCodeAsync(codeId, maxCount, cancellationToken);

    /// <inheritdoc />
    public ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) =>
        inner.DeleteEndedBeforeAsync(cutoff, maxCount, cancellationToken);
}
