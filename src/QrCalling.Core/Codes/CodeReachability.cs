using Microsoft.Extensions.Options;
using QrCalling.Transport;

namespace QrCalling.Codes;

/// <summary>The <c>reachable</c> of a scan preview: whether the owner of an available code can be rung now. Null (the
/// field is left out) when <see cref="QrCallingOptions.ShowReachability"/> is off or the presence cannot tell. A stranger
/// holding the sticker learns only this one bit, and only while the code is live.</summary>
public sealed class CodeReachability
{
    private readonly IOwnerPresence _presence;
    private readonly QrCallingOptions _options;

    internal CodeReachability(IOwnerPresence presence, IOptions<QrCallingOptions> options)
    {
        _presence = presence ?? throw new ArgumentNullException(nameof(presence));
        _options = (options ?? throw new ArgumentNullException(nameof(options))).Value;
    }

    /// <summary>Whether the owner of the code a successful <see cref="CodeService.ScanAsync(string?, CancellationToken)"/> described can be rung now;
    /// null when not shown. Uses the code the scan already found: no second look-up. Kept apart from the scan so that
    /// the code lifecycle (and its scan metrics) knows nothing of presence.</summary>
    public ValueTask<bool?> OfScannedCodeAsync(CodeInfo scanned, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scanned);
        return !_options.ShowReachability || scanned.OwnerId is not { } owner
            ? ValueTask.FromResult<bool?>(null)
            : _presence.IsReachableAsync(owner, cancellationToken);
    }
}
