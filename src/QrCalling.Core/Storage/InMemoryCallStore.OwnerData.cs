namespace QrCalling.Storage;

internal sealed partial class InMemoryCallStore
{
    /// <summary>Deletes every call of an owner with its mailbox; returns how many calls.</summary>
    internal int EraseOwner(string ownerId)
    {
        lock (_gate)
        {
            if (!_byOwner.Remove(ownerId, out var owned))
            {
                return 0;
            }
            foreach (var callId in owned)
            {
                if (_calls.TryRemove(callId, out var call))
                {
                    _byTokenHash.TryRemove(Convert.ToHexString(call.CallTokenHash), out _);
                }
                _mailbox.DeleteCall(callId);
            }
            return owned.Count;
        }
    }
}
