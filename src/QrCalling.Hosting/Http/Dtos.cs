using System.Text.Json;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

// Request and response shapes of spec section 2 (camelCase on the wire).

internal sealed record CreateCodeRequest(string? Label, List<string?>? Media, long? ExpiresInSeconds, int? MaxScans);

/// <summary><c>PATCH /codes/{id}</c>: the members to change; a member left out (or null) keeps its value.</summary>
/// <param name="Label">The new label (may be empty; at most 80 characters by default).</param>
/// <param name="Media">The new allowed media: a non-empty list of <c>audio</c>, <c>video</c>, <c>chat</c>.</param>
internal sealed record UpdateCodeRequest(string? Label, List<string?>? Media);

internal sealed record CodeCreatedResponse(string Id, string Payload, string Link, string Label, IReadOnlyList<string> Media,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, int? MaxScans);

internal sealed record CodeListItem(string Id, string Label, IReadOnlyList<string> Media, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, int? MaxScans, int ScanCount, DateTimeOffset? LastScannedAt, DateTimeOffset? RevokedAt);

/// <summary><c>POST /qr</c>: <c>form</c> is <c>link</c> (default, spec v1.1: the link form, which a phone camera opens) or
/// <c>payload</c> (the bare payload, for apps that scan in-app).</summary>
internal sealed record QrRequest(string? Payload, string? Format, int? PixelsPerModule, string? Form = null);

internal sealed record PayloadRequest(string? Payload);

/// <summary>The scan preview; <c>reachable</c> (additive) is left out when not shown (see <c>ShowReachability</c>).</summary>
internal sealed record ScanResponse(string Label, IReadOnlyList<string> Media,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Reachable = null);

internal sealed record StartCallRequest(string? Payload, string? Media, ProofOfWorkSolution? Proof = null);

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
