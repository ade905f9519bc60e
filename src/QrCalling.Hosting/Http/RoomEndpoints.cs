using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Hosting.Hubs;
using QrCalling.Hosting.Internal;
using QrCalling.Rooms;
using QrCalling.Storage;

namespace QrCalling.Hosting.Http;

/// <summary>Meet-now rooms (additive): anyone creates a room and shares its link (id and secret in the fragment); anyone
/// holding the link joins with an optional per-room display name and gets a participant token; participants read the
/// room, leave, render its QR and trade their token for a hub ticket for <c>/hubs/rooms</c>.</summary>
internal static class RoomEndpoints
{
    public const string RoomsTag = "Rooms";
    public const string CreatePolicy = "qrcalling-rooms";
    public const string ParticipantPolicy = "qrcalling-room-participant";
    private const string ProofKey = "rooms";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/rooms", CreateAsync).Documented(RoomsTag, OperationAccess.Anyone, ExampleCreate)
            .Accepts<CreateRoomRequest>("application/json").RequireRateLimiting(CreatePolicy)
            .WithSummary("Create a meet-now room")
            .WithDescription("Anyone, no account; rate limited per client, and under pressure (many rooms created on this host) `429 " +
                "proof_required` with a proof-of-work challenge as for `POST /calls` (send it back as `proof: {challenge, solution}`). Body " +
                "optional: `{expiresInSeconds?, maxParticipants?, signed?}`. `201 {roomId, link, expiresAt, maxParticipants}`: `link` is " +
                "`<origin>/room#PQR:1:<ROOMID>:<SECRET>`; the secret travels only in the fragment and the server keeps only its keyed hash. " +
                "`400 invalid_request` for bounds out of range; with `signed: true` the answer adds `signedPayload` (`PQS:1:ROOM:…`), " +
                "`signedLink` and `keyId`, and a host without a signing key answers `503 signing_unavailable`.")
            .Produces<RoomCreatedResponse>(StatusCodes.Status201Created).Problems(400, 413, 415, 429, 503);
        api.MapPost("/rooms/join", JoinAsync).Documented(RoomsTag, OperationAccess.Anyone, ExampleJoin)
            .Accepts<JoinRoomRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.ScanPolicy)
            .WithSummary("Join a room by its link")
            .WithDescription("Anyone holding the link (`link`, or the bare `payload`; case-insensitive). `200 {roomId, participantId, " +
                "participantToken, expiresAt, maxParticipants}`. With `participantToken` (a reload) the same participant again. A wrong " +
                "secret, an unknown, expired or ended room: `404 room_unavailable`, the same answer for all. `409 room_full`; `400 " +
                "invalid_display_name` for a name over 40 characters or with control characters.")
            .Produces<RoomJoinedResponse>().Problems(400, 404, 409, 413, 415, 429);
        api.MapGet("/rooms/{roomId}", GetAsync).Documented(RoomsTag, OperationAccess.Participant)
            .RequireRateLimiting(ParticipantPolicy)
            .WithSummary("A room and its participants")
            .WithDescription("A participant (`Authorization: Bearer <participantToken>`). `{roomId, expiresAt, maxParticipants, " +
                "participants: [{participantId, displayName, joinedAt, publicKey}]}`. `401 unauthorized` for a missing, unknown or left " +
                "token, or one of another room.")
            .Produces<RoomResponse>().Problems(401, 429);
        api.MapPost("/rooms/{roomId}/leave", LeaveAsync).Documented(RoomsTag, OperationAccess.Participant)
            .RequireRateLimiting(ParticipantPolicy)
            .WithSummary("Leave a room")
            .WithDescription("A participant. `204`; its token stops working, the others get `ParticipantLeft`; the last one to leave " +
                "ends the room (`RoomEnded {reason: \"empty\"}`, everything deleted).")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 429);
        api.MapPost("/rooms/{roomId}/qr", RenderQrAsync).Documented(RoomsTag, OperationAccess.Participant, ExampleQr)
            .Accepts<RoomQrRequest>("application/json").RequireRateLimiting(ParticipantPolicy)
            .WithSummary("The QR image of a room's link")
            .WithDescription("A participant. `{link, format: \"png\"|\"svg\"}`: the link must be this room's (its secret is checked), plain or signed " +
                "(`PQS:1:ROOM:…`, while it verifies with this host's keys), " +
                "else `400 invalid_request`. Returns the image; nothing is stored.")
            .Produces(StatusCodes.Status200OK, typeof(byte[]), "image/png", "image/svg+xml").Problems(400, 401, 413, 415, 429);
    }

    private static JsonNode ExampleCreate() => new JsonObject { ["expiresInSeconds"] = 3600, ["maxParticipants"] = 4 };

    private static JsonNode ExampleJoin() => new JsonObject
    {
        ["payload"] = RoomService.PayloadPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAA:" + new string('A', 52),
        ["displayName"] = "Sam",
    };

    private static JsonNode ExampleQr() => new JsonObject
    {
        ["link"] = "https://calls.example.com/room#" + RoomService.PayloadPrefix + "AAAAAAAAAAAAAAAAAAAAAAAAAA:" + new string('A', 52),
        ["format"] = "svg",
    };

    private static async Task<IResult> CreateAsync(HttpContext http, RoomService rooms, RoomCreationLimiter pressure, ProofOfWork proofs,
        ISessionQrSigner signer, TimeProvider time, IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        var body = new CreateRoomRequest(null, null, null);
        if (http.Request.ContentLength is not 0 && (http.Request.ContentLength is not null || http.Request.ContentType is not null))
        {
            var (read, error) = await RequestReader.ReadAsync<CreateRoomRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
            if (error is not null)
            {
                return ApiResults.Problem(error);
            }
            body = read!;
        }
        if (body.Signed == true && !signer.CanSign)
        {
            return ApiResults.Problem(QrCallingErrorCodes.SigningUnavailable, "This host has no key to sign session QR codes.");
        }
        if (!pressure.TryAcquire() && !proofs.Verify(ProofKey, body.Proof?.Challenge, body.Proof?.Solution))
        {
            // Many rooms created on this host right now: a creator that shows a proof of work still gets through.
            var (challenge, difficulty) = proofs.Issue(ProofKey);
            var status = StatusCodes.Status429TooManyRequests;
            return Results.Json(new ProofRequiredProblem("urn:qrcalling:error:" + QrCallingErrorCodes.ProofRequired,
                Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status), status,
                "Many rooms are being created right now: solve the challenge and create the room again with the proof.",
                QrCallingErrorCodes.ProofRequired, challenge, difficulty), QrCallingJson.Options, ApiResults.ProblemContentType, status);
        }
        var result = await rooms.CreateAsync(body.ExpiresInSeconds, body.MaxParticipants, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var room = result.Value;
        var created = new RoomCreatedResponse(room.RoomId, LinkOf(http, options.Value, room.Payload), room.ExpiresAt, room.MaxParticipants);
        if (body.Signed == true)
        {
            // The signed form carries what joining needs (room id and secret) as its subject, so its link joins as the
            // plain one does; it stops verifying at the room's expiry, or at the longest signed lifetime if sooner.
            var until = Min(room.ExpiresAt, time.GetUtcNow() + options.Value.SessionQr.MaxLifetime);
            var signed = signer.Sign(SessionQrKinds.Room, SignedSubjectOf(room.Payload), until);
            if (!signed.IsSuccess)
            {
                return ApiResults.Problem(signed.Error!);
            }
            created = created with { SignedPayload = signed.Value.Payload, SignedLink = LinkOf(http, options.Value, signed.Value.Payload), KeyId = signed.Value.KeyId };
        }
        return ApiResults.Json(created, StatusCodes.Status201Created);
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    /// <summary>A room payload <c>PQR:1:&lt;roomId&gt;:&lt;secret&gt;</c> as a signed QR's subject
    /// <c>&lt;roomId&gt;-&lt;secret&gt;</c> (the subject alphabet has no colon).</summary>
    private static string SignedSubjectOf(string roomPayload) => roomPayload[RoomService.PayloadPrefix.Length..].Replace(':', '-').ToUpperInvariant();

    /// <summary>A signed room QR (payload or link) that verifies with this host's keys, as the plain room payload it
    /// stands for; anything else unchanged (the room service then refuses what is not a room link).</summary>
    private static string? UnsignedRoomPayload(string? linkOrPayload, ISessionQrSigner signer)
    {
        var text = linkOrPayload?.Trim() ?? "";
        var fragment = text.IndexOf('#') is var hash and >= 0 ? text[(hash + 1)..].Trim() : text;
        if (!fragment.StartsWith("PQS:", StringComparison.OrdinalIgnoreCase))
        {
            return linkOrPayload;
        }
        var verified = signer.Verify(fragment);
        return verified is { IsValid: true, Qr: { Kind: SessionQrKinds.Room } qr }
            ? RoomService.PayloadPrefix + qr.Subject.Replace('-', ':')
            : null;
    }

    /// <summary><c>&lt;publicBaseUrl&gt;/room#&lt;payload&gt;</c>.</summary>
    public static string LinkOf(HttpContext http, QrCallingOptions options, string payload)
    {
        var origin = options.PublicBaseUrl is { } publicBase && Uri.TryCreate(publicBase, UriKind.Absolute, out var uri)
            ? uri.GetLeftPart(UriPartial.Authority)
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        return origin + "/room#" + payload;
    }

    private static async Task<IResult> JoinAsync(HttpContext http, RoomService rooms, ISessionQrSigner signer, CancellationToken cancellationToken)
    {
        var (body, error) = await RequestReader.ReadAsync<JoinRoomRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await rooms.JoinAsync(UnsignedRoomPayload(body!.Link ?? body.Payload, signer), body.DisplayName, body.ParticipantToken, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var joined = result.Value;
        return ApiResults.Json(new RoomJoinedResponse(joined.Room.RoomId, joined.Participant.ParticipantId, joined.ParticipantToken,
            joined.Room.ExpiresAt, joined.Room.MaxParticipants));
    }

    /// <summary>The participant of the bearer token, when it belongs to <paramref name="roomId"/>.</summary>
    private static async Task<RoomParticipant?> ParticipantAsync(HttpContext http, RoomService rooms, string roomId, CancellationToken cancellationToken)
    {
        var participant = await rooms.AuthenticateAsync(BearerOf(http.Request), cancellationToken);
        return participant is not null && participant.RoomId == roomId ? participant : null;
    }

    /// <summary>The <c>Authorization: Bearer</c> credential of a REST request (never a query parameter).</summary>
    public static string? BearerOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
    }

    private static IResult Unauthorized() => ApiResults.Problem(ParticipantResolver.Unauthorized("A participant token of this room is required."));

    private static async Task<IResult> GetAsync(HttpContext http, string roomId, RoomService rooms, CancellationToken cancellationToken)
    {
        if (await ParticipantAsync(http, rooms, roomId, cancellationToken) is null)
        {
            return Unauthorized();
        }
        if (await rooms.GetAsync(roomId, cancellationToken) is not { } room)
        {
            return Unauthorized();
        }
        return ApiResults.Json(new RoomResponse(room.Room.RoomId, room.Room.ExpiresAt, room.Room.MaxParticipants,
            [.. room.Participants.Select(RoomParticipantDto.Of)]));
    }

    private static async Task<IResult> LeaveAsync(HttpContext http, string roomId, RoomService rooms, RoomNotifier notifier, CancellationToken cancellationToken)
    {
        if (await ParticipantAsync(http, rooms, roomId, cancellationToken) is not { } participant)
        {
            return Unauthorized();
        }
        await notifier.LeaveAsync(participant, cancellationToken);
        return Results.NoContent();
    }

    private static async Task<IResult> RenderQrAsync(HttpContext http, string roomId, RoomService rooms, QrRenderer renderer, ISessionQrSigner signer, CancellationToken cancellationToken)
    {
        if (await ParticipantAsync(http, rooms, roomId, cancellationToken) is null)
        {
            return Unauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<RoomQrRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        QrImageFormat format;
        switch (body!.Format?.Trim().ToLowerInvariant())
        {
            case null or "svg": format = QrImageFormat.Svg; break;
            case "png": format = QrImageFormat.Png; break;
            default: return ApiResults.Problem(QrCallingError.InvalidRequest("format must be \"png\" or \"svg\"."));
        }
        // The room's plain link, or its signed one (PQS:1:ROOM:…) while that verifies with this host's keys.
        if (!await rooms.IsLinkOfAsync(roomId, UnsignedRoomPayload(body.Link, signer), cancellationToken))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("link must be this room's link."));
        }
        var text = body.Link!.Trim();
        var hash = text.IndexOf('#', StringComparison.Ordinal);
        // The payload part upper-cased, so the QR stays in alphanumeric mode as far as the link allows.
        text = hash >= 0 ? text[..(hash + 1)] + text[(hash + 1)..].Trim().ToUpperInvariant() : text.ToUpperInvariant();
        var image = renderer.Render(text, format);
        http.Response.Headers.CacheControl = "no-store";
        return Results.File(image, format == QrImageFormat.Png ? "image/png" : "image/svg+xml");
    }
}

internal sealed record CreateRoomRequest(int? ExpiresInSeconds, int? MaxParticipants, bool? Signed, ProofOfWorkSolution? Proof = null);
internal sealed record RoomCreatedResponse(string RoomId, string Link, DateTimeOffset ExpiresAt, int MaxParticipants)
{
    /// <summary>With <c>signed: true</c>: the signed session QR (<c>PQS:1:ROOM:…</c>) of the room.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? SignedPayload { get; init; }
    /// <summary>With <c>signed: true</c>: the link form of <see cref="SignedPayload"/>.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? SignedLink { get; init; }
    /// <summary>With <c>signed: true</c>: the id of the key that signed it.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? KeyId { get; init; }
}
internal sealed record JoinRoomRequest(string? Link, string? Payload, string? DisplayName, string? ParticipantToken = null);
internal sealed record RoomJoinedResponse(string RoomId, string ParticipantId, string ParticipantToken, DateTimeOffset ExpiresAt, int MaxParticipants);
internal sealed record RoomQrRequest(string? Link, string? Format);
internal sealed record RoomResponse(string RoomId, DateTimeOffset ExpiresAt, int MaxParticipants, IReadOnlyList<RoomParticipantDto> Participants);
internal sealed record RoomParticipantDto(string ParticipantId, string? DisplayName, DateTimeOffset JoinedAt, string? PublicKey)
{
    public static RoomParticipantDto Of(RoomParticipant p) => new(p.ParticipantId, p.DisplayName, p.JoinedAt, p.PublicKey);
}
