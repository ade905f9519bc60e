using QrCalling.Calls;

namespace QrCalling.Hosting.Http;

/// <summary>Wire names as the REST API shows them; every name is spelled once, in Core (<see cref="CallWireNames"/>,
/// <see cref="MediaKinds"/>).</summary>
internal static class WireNames
{
    public static string Of(CallState state) => CallWireNames.ToWireName(state);

    public static string? Of(CallEndReason? reason) => reason is { } value ? CallWireNames.ToWireName(value) : null;

    /// <summary>One media kind's name, or a comma-separated list for a set.</summary>
    public static string MediaOf(MediaKind media) =>
        media is MediaKind.Audio or MediaKind.Video or MediaKind.Chat ? MediaKinds.ToWireName(media) : string.Join(',', MediaKinds.ToWireNames(media));
}
