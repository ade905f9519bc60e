using System.Text.Json.Serialization;

namespace QrCalling.Client;

/// <summary>A new code's settings (<c>POST /codes</c>); every member is optional.</summary>
public sealed record CodeSettings
{
    /// <summary>What the caller sees when scanning (at most 80 characters).</summary>
    public string? Label { get; init; }

    /// <summary>The media callers may use: any of <c>audio</c>, <c>video</c>, <c>chat</c> (see <see cref="CallMedia"/>); all when left out.</summary>
    public IReadOnlyList<string>? Media { get; init; }

    /// <summary>Seconds until the code expires; never when left out.</summary>
    public long? ExpiresInSeconds { get; init; }

    /// <summary>How many calls the code takes; unlimited when left out.</summary>
    public int? MaxScans { get; init; }
}

/// <summary>The wire names of the media kinds.</summary>
public static class CallMedia
{
    /// <summary>Voice.</summary>
    public const string Audio = "audio";
    /// <summary>Voice and video.</summary>
    public const string Video = "video";
    /// <summary>Chat only.</summary>
    public const string Chat = "chat";
}

/// <summary>A code just issued. <see cref="Payload"/> and <see cref="Link"/> are shown only this once: the host keeps
/// only a keyed hash.</summary>
/// <param name="Id">The code's id.</param>
/// <param name="Payload">The QR payload, <c>pqc:1:…</c>.</param>
/// <param name="Link">The link form, which a phone camera opens.</param>
/// <param name="Label">The label.</param>
/// <param name="Media">The media callers may use.</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it expires, if ever.</param>
/// <param name="MaxScans">How many calls it takes, if limited.</param>
public sealed record IssuedCode(string Id, string Payload, string Link, string Label, IReadOnlyList<string> Media,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? MaxScans);

/// <summary>A code as <c>GET /codes</c> lists it (never its payload).</summary>
/// <param name="Id">The code's id.</param>
/// <param name="Label">The label.</param>
/// <param name="Media">The media callers may use.</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When it expires, if ever.</param>
/// <param name="MaxScans">How many calls it takes, if limited.</param>
/// <param name="ScanCount">How many calls were started with it.</param>
/// <param name="LastScannedAt">When the last call started.</param>
/// <param name="RevokedAt">When it was revoked, if it was.</param>
public sealed record CodeInfo(string Id, string Label, IReadOnlyList<string> Media, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    int? MaxScans, int ScanCount, DateTimeOffset? LastScannedAt, DateTimeOffset? RevokedAt);

/// <summary>A server-issued owner device: its id and the credential that goes with it. Keep both (the credential is a
/// secret) to come back as the same device, the one that accepted a call.</summary>
/// <param name="DeviceId">The device id (<c>qd_…</c>).</param>
/// <param name="DeviceCredential">The device's credential.</param>
public sealed record OwnerDevice(string DeviceId, string DeviceCredential);

/// <summary>What a scan shows before calling (<c>POST /scan</c>).</summary>
/// <param name="Label">The code's label.</param>
/// <param name="Media">The media the code allows.</param>
/// <param name="Reachable">Whether one of the owner's devices is online now; null when the host does not tell.</param>
/// <param name="CallsAllowed">Whether voice or video may start now.</param>
/// <param name="ChatOnly">Whether only chat may start now.</param>
/// <param name="QuietUntil">When the owner's current quiet hours end, if they are on.</param>
public sealed record ScanResult(string Label, IReadOnlyList<string> Media, bool? Reachable = null, bool CallsAllowed = true,
    bool ChatOnly = false, DateTimeOffset? QuietUntil = null);

/// <summary>An ICE server in the browser's RTCIceServer shape; TURN entries carry short-lived credentials.</summary>
/// <param name="Urls">The server's URLs.</param>
/// <param name="Username">The TURN username, if any.</param>
/// <param name="Credential">The TURN credential, if any.</param>
public sealed record IceServer(IReadOnlyList<string> Urls, string? Username = null, string? Credential = null);

/// <summary>A call just started by a caller (<c>POST /calls</c>). <see cref="CallToken"/> admits to this call only;
/// keep it secret.</summary>
/// <param name="CallId">The call's id.</param>
/// <param name="CallerId">The caller's anonymous id for this call.</param>
/// <param name="CallToken">The call token (<c>qct_…</c>).</param>
/// <param name="ExpiresAt">When the call token expires.</param>
/// <param name="IceServers">ICE servers for the call.</param>
public sealed record StartedCall(string CallId, string CallerId, [property: JsonPropertyName("callToken")] string CallToken, DateTimeOffset ExpiresAt,
    IReadOnlyList<IceServer> IceServers)
{
    /// <summary>Leaves the call token out, so a started call can be logged.</summary>
    /// <returns>The call without its token.</returns>
    public override string ToString() => $"StartedCall {{ CallId = {CallId}, CallerId = {CallerId}, ExpiresAt = {ExpiresAt:O} }}";
}
