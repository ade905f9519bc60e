using QrCalling.Calls;

namespace QrCalling.Hosting.Http;

/// <summary>Lower-case wire names of Core's enums.</summary>
internal static class WireNames
{
    public static string Of(CallState state) => state switch
    {
        CallState.Ringing => "ringing",
        CallState.Active => "active",
        _ => "ended",
    };

    public static string? Of(CallEndReason? reason) => reason?.ToString().ToLowerInvariant();

    public static string MediaOf(MediaKind media) =>
        media is MediaKind.Audio or MediaKind.Video or MediaKind.Chat ? MediaKinds.ToWireName(media) : string.Join(',', MediaKinds.ToWireNames(media));
}
