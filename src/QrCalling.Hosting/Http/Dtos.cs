using System.Text.Json;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

// Request and response shapes of spec section 2 (camelCase on the wire).

/// <summary><c>POST /codes</c>; <c>signed</c> (additive) issues a meet-now code: expiring, with a signed session QR.</summary>
internal sealed record CreateCodeRequest(string? Label, List<string?>? Media, long? ExpiresInSeconds, int? MaxScans, bool? Signed = null);

/// <summary><c>PATCH /codes/{id}</c>: the members to change; a member left out (or null) keeps its value.</summary>
/// <param name="Label">The new label (may be empty; at most 80 characters by default).</param>
/// <param name="Media">The new allowed media: a non-empty list of <c>audio</c>, <c>video</c>, <c>chat</c>.</param>
internal sealed record UpdateCodeRequest(string? Label, List<string?>? Media);

/// <summary>A new code. <c>signedPayload</c>, <c>signedLink</c> and <c>keyId</c> (additive) are there only for a code
/// issued with <c>signed: true</c>.</summary>
internal sealed record CodeCreatedResponse(string Id, string Payload, string Link, string Label, IReadOnlyList<string> Media,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? MaxScans,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? SignedPayload = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? SignedLink = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? KeyId = null);

/// <summary>A code as the owner sees it. <c>state</c> (<c>active</c>, <c>paused</c>, <c>revoked</c>, <c>expired</c>,
/// <c>used_up</c>) and <c>pausedAt</c> are additive (issue 13).</summary>
internal sealed record CodeListItem(string Id, string Label, IReadOnlyList<string> Media, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, int? MaxScans, int ScanCount, DateTimeOffset? LastScannedAt, DateTimeOffset? RevokedAt,
    string State = "active", DateTimeOffset? PausedAt = null);

/// <summary><c>POST /qr</c>: <c>form</c> is <c>link</c> (default, spec v1.1: the link form, which a phone camera opens) or
/// <c>payload</c> (the bare payload, for apps that scan in-app).</summary>
internal sealed record QrRequest(string? Payload, string? Format, int? PixelsPerModule, string? Form = null);

/// <summary><c>POST /scan</c>: the payload, and (additive) the caller key the caller's browser keeps.</summary>
internal sealed record PayloadRequest(string? Payload, string? CallerKey = null);

/// <summary>The scan preview; <c>reachable</c> (additive) is left out when not shown (see <c>ShowReachability</c>).
/// <c>callsAllowed</c>, <c>chatOnly</c> and <c>quietUntil</c> (additive) say what the owner takes now; <c>quietUntil</c>
/// is left out outside quiet hours.</summary>
internal sealed record ScanResponse(string Label, IReadOnlyList<string> Media,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Reachable = null,
    bool CallsAllowed = true, bool ChatOnly = false,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? QuietUntil = null);

internal sealed record StartCallRequest(string? Payload, string? Media, ProofOfWorkSolution? Proof = null, string? CallerKey = null);

/// <summary>A solved proof-of-work challenge (see <c>proof_required</c>).</summary>
internal sealed record ProofOfWorkSolution(string? Challenge, string? Solution);

internal sealed record CallStartedResponse(string CallId, string CallerId, string CallToken, DateTimeOffset ExpiresAt,
    IReadOnlyList<IceServer> IceServers);

internal sealed record CallHistoryItem(string CallId, string CodeId, string Label, string Media, string State, string? EndReason,
    string CallerId, DateTimeOffset CreatedAt, DateTimeOffset? AnsweredAt, DateTimeOffset? EndedAt);

internal sealed record CallStatusResponse(string CallId, string State, string Media, DateTimeOffset CreatedAt,
    DateTimeOffset? AnsweredAt, DateTimeOffset? EndedAt, string? EndReason);

internal sealed record MailboxEvent(long Seq, string Type, string From, JsonElement Data, DateTimeOffset At);

internal sealed record PostEventRequest(string? Type, JsonElement Data);

internal sealed record SeqResponse(long Seq);

/// <summary>An acknowledgement: everything addressed to the sender up to <c>seq</c> was received.</summary>
internal sealed record AckRequest(long? Seq);

internal sealed record IceServersResponse(IReadOnlyList<IceServer> IceServers, long TtlSeconds);

/// <summary>A server-issued owner device: its id and the credential that goes with it.</summary>
internal sealed record DeviceRegisteredResponse(string DeviceId, string DeviceCredential);

/// <summary>A single-use hub ticket and when it expires.</summary>
internal sealed record HubTicketResponse(string Ticket, DateTimeOffset ExpiresAt);

/// <summary>Quiet hours on the wire: <c>start</c>/<c>end</c> as <c>HH:mm</c> local time, <c>days</c> (the days a quiet
/// period starts) as <c>sun</c>…<c>sat</c>, <c>timeZone</c> an IANA id.</summary>
internal sealed record QuietHoursDto(string? Start, string? End, List<string?>? Days, string? TimeZone);

/// <summary><c>PUT /codes/{id}/availability</c>: the whole policy (a member left out is off).</summary>
internal sealed record AvailabilityRequest(bool? ChatOnly, QuietHoursDto? QuietHours);

/// <summary>What the policy allows now.</summary>
internal sealed record AvailabilityNow(bool CallsAllowed, bool ChatOnly,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? QuietUntil);

/// <summary>A code's availability: its policy and what it allows now.</summary>
internal sealed record AvailabilityResponse(bool ChatOnly, QuietHoursDto? QuietHours, AvailabilityNow Now);

/// <summary>A blocked caller as the owner sees it: an opaque id and the date, nothing about the caller.</summary>
internal sealed record BlockResponse(string BlockId, string CodeId, DateTimeOffset CreatedAt);

/// <summary><c>POST /verify-qr</c>: <c>valid</c>, and for a valid QR its <c>expiresAt</c>, <c>keyId</c> and (additive)
/// <c>kind</c> (<c>room</c> or <c>meet</c>); the three are left out when not valid.</summary>
internal sealed record VerifyQrResponse(bool Valid,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ExpiresAt = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? KeyId = null,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Kind = null);

/// <summary>One verification key: its id, the algorithm (always <c>ES256</c>) and the SPKI in base64url.</summary>
internal sealed record VerifyQrKey(string Kid, string Alg, string Spki);

/// <summary><c>GET /verify-qr/keys</c>.</summary>
internal sealed record VerifyQrKeysResponse(IReadOnlyList<VerifyQrKey> Keys);
