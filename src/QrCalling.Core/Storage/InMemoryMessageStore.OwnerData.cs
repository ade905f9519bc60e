namespace QrCalling.Storage;

internal sealed partial class InMemoryMessageStore
{
    /// <summary>Deletes an owner's message key and every message left for the owner (expired ones too); returns how
    /// many messages.</summary>
    internal int EraseOwner(string ownerId)
    {
        lock (_gate)
        {
            _keys.Remove(ownerId);
            var owned = _messages.Values.Where(m => m.OwnerId == ownerId).ToList();
            foreach (var message in owned)
            {
                Remove(message);
            }
            return owned.Count;
        }
    }
}
