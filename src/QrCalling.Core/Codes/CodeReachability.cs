using Microsoft.Extensions.Options;
using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Codes;

/// <summary>The <c>reachable</c> of a scan preview: whether the owner of an available code can be rung now. Null (the
/// field is left out) when <see cref="QrCallingOptions.ShowReachability"/> is off, the code is not available, or the
/// presence cannot tell. A stranger holding the sticker learns only this one bit, and only while the code is live.</summary>
public sealed class CodeReachability
{
    private readonly IStorage _storage;
    private readonly TokenHasher _hasher;
    private readonly IOwnerPresence _presence;
    private readonly QrCallingOptions _options;
    private readonly TimeProvider _time;

    internal CodeReachability(IStorage storage, TokenHasher hasher, IOwnerPresence presence, IOptions<QrCallingOptions> options, TimeProvider time)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _hasher = hasher ?? throw new ArgumentNullException(nameof(hasher));
        _presence = presence ?? throw new ArgumentNullException(nameof(presence));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>Whether the owner of the code behind <paramref name="payload"/> can be rung now; null when not shown.
    /// Called after a successful scan; a second look-up of the code, kept apart so that the code lifecycle (and its
    /// scan metrics) knows nothing of presence.</summary>
    public async ValueTask<bool?> OfPayloadAsync(string? payload, CancellationToken cancellationToken)
    {
        if (!_options.ShowReachability)
        {
            return null;
        }
        var parsed = CodePayload.Parse(payload);
        if (!parsed.IsValid)
        {
            return null;
        }
        var now = _time.GetUtcNow();
        for (var i = 0; i < _hasher.CandidateCount; i++)
        {
            var code = await _storage.Codes.FindByKeyAsync(_hasher.Hash(parsed.Token!.Bytes, i), cancellationToken).ConfigureAwait(false);
            if (code is not null && code.IsAvailable(now))
            {
                return await _presence.IsReachableAsync(code.OwnerId, cancellationToken).ConfigureAwait(false);
            }
        }
        return null;
    }
}
