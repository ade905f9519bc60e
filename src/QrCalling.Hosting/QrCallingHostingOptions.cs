using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting;

/// <summary>Options of the ASP.NET Core integration: routes, owner identity, ICE servers, rate limits and CORS. Bound
/// from the <c>QrCalling</c> configuration section (the same section as <see cref="QrCallingOptions"/>) and validated at
/// start-up.</summary>
public sealed class QrCallingHostingOptions
{
    /// <summary>Prefix of the REST routes. Default <c>/api/v1</c>.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "QrCalling:RoutePrefix must start with '/'.")]
    public string RoutePrefix { get; set; } = "/api/v1";

    /// <summary>Path of the SignalR hub. Default <c>/hubs/calls</c>.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "QrCalling:HubPath must start with '/'.")]
    public string HubPath { get; set; } = "/hubs/calls";

    /// <summary>Path of the rooms hub (meet-now rooms, additive). Default <c>/hubs/rooms</c>.</summary>
    [Required]
    [RegularExpression("^/.*", ErrorMessage = "QrCalling:RoomHubPath must start with '/'.")]
    public string RoomHubPath { get; set; } = "/hubs/rooms";

    /// <summary>The claim holding the owner's user id. Default <see cref="ClaimTypes.NameIdentifier"/>.</summary>
    [Required]
    public string OwnerClaimType { get; set; } = ClaimTypes.NameIdentifier;

    /// <summary>Authentication schemes used to identify owners on QrCalling's endpoints and hub; empty for the host's
    /// default scheme. Anonymous requests still pass (callers are anonymous); the schemes only fill in the user.</summary>
    public IList<string> OwnerAuthenticationSchemes { get; } = new List<string>();

    /// <summary>STUN servers handed to clients.</summary>
    public QrCallingStunOptions Stun { get; set; } = new();

    /// <summary>TURN servers and their shared secret (TURN REST API credentials).</summary>
    public QrCallingTurnOptions Turn { get; set; } = new();

    /// <summary>Rate limits of the public endpoints and of the hub.</summary>
    [ValidateObjectMembers]
    public QrCallingRateLimitOptions RateLimits { get; set; } = new();

    /// <summary>Origins allowed to call the API and hub from a browser (CORS). Empty: no CORS policy is applied
    /// (same-origin only).</summary>
    public IList<string> CorsOrigins { get; } = new List<string>();

    /// <summary>Lets SignalR's and the connection layer's Debug and Trace logs through. They print every hub argument
    /// (SDP with IP addresses, ICE candidates, chat ciphertext), so QrCalling keeps the categories
    /// <c>Microsoft.AspNetCore.SignalR</c> and <c>Microsoft.AspNetCore.Http.Connections</c> at Information and above
    /// unless this is true. For debugging on a developer machine only. Default false.</summary>
    public bool LogHubTraffic { get; set; }

    /// <summary>Whether the hub also speaks SignalR's MessagePack protocol (clients see the same event shapes as with
    /// JSON). Default false. The host registers the protocol: <c>AddQrCalling(…).AddMessagePackProtocol()</c> does
    /// both, or set this and call <c>services.AddSignalR().AddMessagePackProtocol()</c>; start-up fails when it is set
    /// and the protocol is not registered. Without it the hub refuses MessagePack even when the host registered it.</summary>
    public bool EnableMessagePack { get; set; }

    /// <summary>How long a side of a call that uses REST only (no hub connection on this instance) may go without a
    /// request about the call (a long poll, a post, an acknowledgement, its status) before it counts as gone; once gone
    /// past <see cref="QrCallingOptions.ReconnectGrace"/> the call ends <c>dropped</c>, as for a hub side. It must exceed
    /// the longest long poll (30 s). Default 45 seconds.</summary>
    [Range(typeof(TimeSpan), "00:00:31", "1.00:00:00")]
    public TimeSpan RestPresenceTimeout { get; set; } = TimeSpan.FromSeconds(45);
}

/// <summary>STUN servers (<c>QrCalling:Stun</c>).</summary>
public sealed class QrCallingStunOptions
{
    /// <summary>Comma-separated <c>stun:</c>/<c>stuns:</c> URLs (<c>QrCalling:Stun:Urls</c>); a list in configuration
    /// (<c>QrCalling:Stun:Urls:0</c>, …) is joined.</summary>
    public string? Urls { get; set; }
}

/// <summary>TURN servers (<c>QrCalling:Turn</c>) using coturn's <c>use-auth-secret</c> (TURN REST API): clients get a
/// username <c>&lt;unix-expiry&gt;:&lt;random id&gt;</c> and the credential <c>base64(HMAC-SHA1(secret, username))</c>.</summary>
public sealed class QrCallingTurnOptions
{
    /// <summary>Comma-separated <c>turn:</c>/<c>turns:</c> URLs (<c>QrCalling:Turn:Urls</c>).</summary>
    public string? Urls { get; set; }

    /// <summary>The shared secret (coturn's <c>static-auth-secret</c>); required when <see cref="Urls"/> is set. New
    /// credentials are always issued with this secret.</summary>
    public string? SharedSecret { get; set; }

    /// <summary>Secrets used before <see cref="SharedSecret"/>, still accepted by the TURN server while credentials
    /// signed with them may be in use. QrCalling never signs with them; <see cref="AcceptedSecrets"/> lists every secret
    /// coturn must accept (one <c>static-auth-secret</c> each). Remove one after <see cref="CredentialLifetime"/> has
    /// passed since the switch (allocations made with it keep running: coturn checks a credential only when it is
    /// used).</summary>
    public IList<string> PreviousSecrets { get; } = new List<string>();

    /// <summary>How long a TURN credential is valid, at most: credentials are issued per call and never outlive it; a
    /// client refreshes them from <c>GET /ice-servers</c> while its call lives (only new allocations need fresh ones).
    /// Default 10 minutes; 1 minute to 1 day.</summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The secrets the TURN server must accept: <see cref="SharedSecret"/> first, then
    /// <see cref="PreviousSecrets"/> (coturn: one <c>static-auth-secret</c> line each).</summary>
    public IReadOnlyList<string> AcceptedSecrets =>
        [.. new[] { SharedSecret }.Concat(PreviousSecrets).Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).Distinct(StringComparer.Ordinal)];
}

/// <summary>Rate limits (<c>QrCalling:RateLimits</c>). Public endpoints are limited per client (a keyed hash of the
/// remote IP, or of its /64 prefix for IPv6, the key rotated daily and never stored), calls per code as well,
/// participant endpoints per call or owner, and hub methods per identity. All counters live in the memory of one
/// instance: with several instances behind a load balancer each instance allows the full limit.</summary>
public sealed class QrCallingRateLimitOptions
{
    /// <summary>POST /scan requests one client may make per <see cref="Window"/>. Default 30.</summary>
    [Range(1, 1_000_000)]
    public int ScansPerClient { get; set; } = 30;

    /// <summary>POST /rooms requests one client may make per <see cref="Window"/>. Default 10.</summary>
    [Range(1, 1_000_000)]
    public int RoomsPerClient { get; set; } = 10;

    /// <summary>Rooms created on this instance per <see cref="Window"/>, from all clients together, before creators must
    /// show a proof of work (<c>429 proof_required</c>). Default 60.</summary>
    [Range(1, 1_000_000)]
    public int RoomsBeforeProof { get; set; } = 60;

    /// <summary>POST /calls requests one client may make per <see cref="Window"/>. Default 10.</summary>
    [Range(1, 1_000_000)]
    public int CallsPerClient { get; set; } = 10;

    /// <summary>Calls started on one code per <see cref="Window"/>, from all clients together, so a flooded code stops
    /// ringing its owner. Must be at least <see cref="CallsPerClient"/>, so one client alone cannot use up a code's
    /// budget. Default 30 (three times the per-client default).</summary>
    [Range(1, 1_000_000)]
    public int CallsPerCode { get; set; } = 30;

    /// <summary>The fixed window of the per-window limits. Default one minute.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Hub method calls one identity (a caller's call, an owner, or a client's IP hash) may burst; each hub
    /// connection of a caller or owner costs one as well. Default 200.</summary>
    [Range(1, 1_000_000)]
    public int HubBurst { get; set; } = 200;

    /// <summary>Hub method calls per second one identity may sustain. Default 50.</summary>
    [Range(1, 1_000_000)]
    public int HubPerSecond { get; set; } = 50;

    /// <summary>How often <see cref="HubPerSecond"/> tokens are added back (one second; tests lengthen it so that no
    /// refill happens while they run).</summary>
    internal TimeSpan HubReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Requests to the participant endpoints (<c>GET /calls/{callId}</c>, <c>GET</c> and <c>POST
    /// /calls/{callId}/events</c>, <c>GET /ice-servers</c>) per <see cref="Window"/> from one call's caller, or from one
    /// owner (all devices and calls together). A call relays some 50 to 200 signals; a REST client posts each and
    /// long-polls for each. Default 600.</summary>
    [Range(1, 1_000_000)]
    public int RequestsPerParticipant { get; set; } = 600;

    /// <summary>Failed attempts one client may make per <see cref="Window"/>: requests and hub connections with an
    /// unknown or expired call token, and participant requests with no credentials. Past it, the client's unknown call
    /// tokens (REST and hub connect) are answered <c>rate_limited</c> instead of <c>unauthorized</c>; a valid call token
    /// is always admitted, so one guesser cannot lock out the other callers behind the same address. Default 20.</summary>
    [Range(1, 1_000_000)]
    public int FailedAttemptsPerClient { get; set; } = 20;

    /// <summary>Concurrent long polls (<c>GET /calls/{callId}/events</c> with <c>waitSeconds</c> above zero) per call
    /// and side; one more is refused with 429 <c>rate_limited</c>. Default 4.</summary>
    [Range(1, 1000)]
    public int LongPollsPerCall { get; set; } = 4;

    /// <summary>Requests one owner may make per <see cref="Window"/> to the owner endpoints (<c>POST</c>/<c>GET
    /// /codes</c>, revoke, rotate, <c>GET /calls</c>). Default 120.</summary>
    [Range(1, 1_000_000)]
    public int OwnerRequestsPerOwner { get; set; } = 120;

    /// <summary>QR images (<c>POST /qr</c>, CPU-heavy) one owner may render per <see cref="Window"/>. Default 30.</summary>
    [Range(1, 1_000_000)]
    public int QrRendersPerOwner { get; set; } = 30;

    /// <summary>Leading zero bits of SHA-256 a caller's proof of work needs when a code is over
    /// <see cref="CallsPerCode"/> (about 2^bits hashes: 14 takes a phone a fraction of a second); one more bit each time
    /// the pressure on the code doubles, at most 24. Default 14.</summary>
    [Range(1, 24)]
    public int ProofOfWorkBits { get; set; } = 14;

    /// <summary>Open hub connections one call's caller may hold at once (a reload or a second tab needs a few). One more
    /// is refused with <c>rate_limited</c>. Default 4.</summary>
    [Range(1, 100_000)]
    public int HubConnectionsPerCall { get; set; } = 4;

    /// <summary>Open hub connections one owner may hold at once, all devices together. Default 32.</summary>
    [Range(1, 1_000_000)]
    public int HubConnectionsPerOwner { get; set; } = 32;

    /// <summary>Open hub connections from one client (keyed IP hash; IPv6 by /64) at once, callers and owners together.
    /// Generous, since carrier-grade NAT puts many people behind one address. Default 256.</summary>
    [Range(1, 10_000_000)]
    public int HubConnectionsPerClient { get; set; } = 256;

    /// <summary>How often the key that hashes client IPs for rate limiting is replaced. Default 24 hours.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan ClientKeyRotation { get; set; } = TimeSpan.FromHours(24);
}

/// <summary>DataAnnotations validation of <see cref="QrCallingHostingOptions"/> (source-generated).</summary>
[OptionsValidator]
internal sealed partial class QrCallingHostingOptionsDataValidator : IValidateOptions<QrCallingHostingOptions>
{
}

/// <summary>Rules that span several keys; every message names the configuration key.</summary>
internal sealed class QrCallingHostingOptionsValidator : IValidateOptions<QrCallingHostingOptions>
{
    public ValidateOptionsResult Validate(string? name, QrCallingHostingOptions options)
    {
        var failures = new List<string>();
        foreach (var url in IceUrls.Split(options.Stun.Urls))
        {
            if (!url.StartsWith("stun:", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("stuns:", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"QrCalling:Stun:Urls: '{url}' is not a stun: or stuns: URL.");
            }
        }
        var turnUrls = IceUrls.Split(options.Turn.Urls);
        foreach (var url in turnUrls)
        {
            if (!url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("turns:", StringComparison.OrdinalIgnoreCase))
            {
                failures.Add($"QrCalling:Turn:Urls: '{url}' is not a turn: or turns: URL.");
            }
        }
        if (turnUrls.Count > 0 && string.IsNullOrWhiteSpace(options.Turn.SharedSecret))
        {
            failures.Add("QrCalling:Turn:SharedSecret is required when QrCalling:Turn:Urls is set.");
        }
        for (var i = 0; i < options.Turn.PreviousSecrets.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Turn.PreviousSecrets[i]) || options.Turn.PreviousSecrets[i] == options.Turn.SharedSecret)
            {
                failures.Add($"QrCalling:Turn:PreviousSecrets:{i} must be a secret other than QrCalling:Turn:SharedSecret.");
            }
        }
        if (options.Turn.CredentialLifetime < TimeSpan.FromMinutes(1) || options.Turn.CredentialLifetime > TimeSpan.FromDays(1))
        {
            failures.Add("QrCalling:Turn:CredentialLifetime must be between 00:01:00 and 1.00:00:00.");
        }
        if (options.RateLimits is { } limits && limits.CallsPerCode < limits.CallsPerClient)
        {
            failures.Add($"QrCalling:RateLimits:CallsPerCode ({limits.CallsPerCode}) must be at least QrCalling:RateLimits:CallsPerClient ({limits.CallsPerClient}), or one client could use up a code's budget.");
        }
        foreach (var origin in options.CorsOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                failures.Add($"QrCalling:CorsOrigins: '{origin}' is not an http(s) origin.");
            }
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Splits comma-separated ICE URL lists.</summary>
internal static class IceUrls
{
    public static IReadOnlyList<string> Split(string? urls) =>
        string.IsNullOrWhiteSpace(urls) ? [] : urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
