using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

/// <summary>The REST routes of spec section 2: each translates HTTP into one Core operation.</summary>
internal static class QrCallingEndpoints
{
    public const string ScanPolicy = "qrcalling-scan";
    public const string CallsPolicy = "qrcalling-calls";
    public const string ParticipantPolicy = "qrcalling-participant";
    public const string OwnerPolicy = "qrcalling-owner";
    public const string QrPolicy = "qrcalling-qr";
    private const int MaxHistoryLimit = 200;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/codes", CreateCodeAsync).Describe(OpenApiDocs.CreateCode).Accepts<CreateCodeRequest>("application/json").RequireRateLimiting(OwnerPolicy)
            .Produces<CodeCreatedResponse>(StatusCodes.Status201Created).Problems(400, 401, 403, 413, 429);
        api.MapPost("/hub-tickets", IssueHubTicketAsync).Describe(OpenApiDocs.HubTickets).RequireRateLimiting(ParticipantPolicy)
            .Produces<HubTicketResponse>(StatusCodes.Status201Created).Problems(401, 403, 429);
        api.MapPost("/devices", RegisterDevice).Describe(OpenApiDocs.RegisterDevice).RequireRateLimiting(OwnerPolicy)
            .Produces<DeviceRegisteredResponse>(StatusCodes.Status201Created).Problems(401, 429);
        api.MapGet("/codes", ListCodesAsync).Describe(OpenApiDocs.ListCodes).RequireRateLimiting(OwnerPolicy).Produces<IReadOnlyList<CodeListItem>>().Problems(400, 401, 429);
        api.MapPost("/codes/{id}/revoke", RevokeCodeAsync).Describe(OpenApiDocs.RevokeCode).RequireRateLimiting(OwnerPolicy).Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
        api.MapPost("/codes/{id}/rotate", RotateCodeAsync).Describe(OpenApiDocs.RotateCode).RequireRateLimiting(OwnerPolicy).Produces<CodeCreatedResponse>(StatusCodes.Status201Created).Problems(401, 404, 429);
        api.MapPatch("/codes/{id}", UpdateCodeAsync).Describe(OpenApiDocs.UpdateCode).Accepts<UpdateCodeRequest>("application/json").RequireRateLimiting(OwnerPolicy)
            .Produces<CodeListItem>().Problems(400, 401, 404, 413, 415, 429);
        api.MapDelete("/codes/{id}", DeleteCodeAsync).Describe(OpenApiDocs.DeleteCode).RequireRateLimiting(OwnerPolicy)
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
        api.MapPost("/qr", RenderQrAsync).Describe(OpenApiDocs.RenderQr).Accepts<QrRequest>("application/json").RequireRateLimiting(QrPolicy)
            .Produces(StatusCodes.Status200OK, typeof(byte[]), "image/png", "image/svg+xml").Problems(400, 401, 413, 429);
        api.MapPost("/scan", ScanAsync).Describe(OpenApiDocs.Scan).Accepts<PayloadRequest>("application/json").RequireRateLimiting(ScanPolicy)
            .Produces<ScanResponse>().Problems(400, 404, 413, 429);
        api.MapPost("/calls", StartCallAsync).Describe(OpenApiDocs.StartCall).Accepts<StartCallRequest>("application/json").RequireRateLimiting(CallsPolicy)
            .Produces<CallStartedResponse>(StatusCodes.Status201Created).Problems(400, 403, 404, 413, 429);
        api.MapGet("/calls", HistoryAsync).Describe(OpenApiDocs.History).RequireRateLimiting(OwnerPolicy).Produces<IReadOnlyList<CallHistoryItem>>().Problems(400, 401);
        api.MapGet("/calls/{callId}", GetCallAsync).Describe(OpenApiDocs.GetCall).RequireRateLimiting(ParticipantPolicy)
            .Produces<CallStatusResponse>().Problems(401, 403, 429);
        api.MapGet("/calls/{callId}/events", ReadEventsAsync).Describe(OpenApiDocs.ReadEvents).RequireRateLimiting(ParticipantPolicy)
            .Produces<IReadOnlyList<MailboxEvent>>().Problems(400, 401, 403, 429);
        api.MapPost("/calls/{callId}/events", PostEventAsync).Describe(OpenApiDocs.PostEvent).Accepts<PostEventRequest>("application/json").RequireRateLimiting(ParticipantPolicy)
            .Produces<SeqResponse>(StatusCodes.Status202Accepted).Problems(400, 401, 403, 409, 413, 429);
        api.MapPost("/calls/{callId}/events/ack", AckEventsAsync).Describe(OpenApiDocs.AckEvents).Accepts<AckRequest>("application/json").RequireRateLimiting(ParticipantPolicy)
            .Produces(StatusCodes.Status204NoContent).Problems(400, 401, 403, 429);
        api.MapGet("/ice-servers", IceServersAsync).Describe(OpenApiDocs.IceServers).RequireRateLimiting(ParticipantPolicy)
            .Produces<IceServersResponse>().Problems(401, 403, 409, 429);
        OwnerOpsEndpoints.Map(api);
        SessionQrEndpoints.Map(api);
        RoomEndpoints.Map(api);
    }

    /// <summary>A code's optional media list: null when left out, else the parsed set; false for a bad list.</summary>
    private static bool TryParseMedia(IReadOnlyList<string?>? names, out MediaKind? media)
    {
        media = null;
        if (names is null)
        {
            return true;
        }
        if (!MediaKinds.TryParseSet(names, out var set))
        {
            return false;
        }
        media = set;
        return true;
    }

    private static async Task<IResult> CreateCodeAsync(HttpContext http, CodeService codes, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, ISessionQrSigner signer, ILogger<CodeService> logger, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<CreateCodeRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (!TryParseMedia(body!.Media, out var media))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("media must be a non-empty list of \"audio\", \"video\", \"chat\"."));
        }
        var expiresIn = body.ExpiresInSeconds;
        if (body.Signed == true)
        {
            // A meet-now code: always expiring (within the session QR's longest lifetime), with a signed session QR.
            var sessionQr = options.Value.SessionQr;
            if (!signer.CanSign)
            {
                return ApiResults.Problem(new QrCallingError(QrCallingErrorCodes.SigningUnavailable,
                    "This host has no key to sign session QR codes (QrCalling:SessionQr:SigningKey)."));
            }
            expiresIn ??= (long)sessionQr.MeetLifetime.TotalSeconds;
            if (expiresIn > (long)sessionQr.MaxLifetime.TotalSeconds)
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest(
                    $"A signed code expires within {(long)sessionQr.MaxLifetime.TotalSeconds} seconds (expiresInSeconds)."));
            }
        }
        var spec = new CodeSpec { Label = body.Label, Media = media, ExpiresInSeconds = expiresIn, MaxScans = body.MaxScans };
        var issued = await codes.IssueAsync(owner, spec, cancellationToken);
        if (!issued.IsSuccess)
        {
            return ApiResults.Problem(issued.Error!);
        }
        if (body.Signed != true)
        {
            return Created(http, issued.Value, options.Value);
        }
        var code = issued.Value.Code;
        var signed = signer.Sign(SessionQrKinds.Meet, issued.Value.Payload.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars), code.ExpiresAt!.Value);
        if (!signed.IsSuccess)
        {
            await codes.DeleteAsync(owner, code.Id, cancellationToken); // no half-issued meet code
            return ApiResults.Problem(signed.Error!);
        }
        Log.MeetCodeSigned(logger, code.Id, signed.Value.KeyId);
        return Created(http, issued.Value, options.Value, signed.Value);
    }

    private static IResult Created(HttpContext http, IssuedCode issued, QrCallingOptions options, SessionQr? signed = null)
    {
        var code = issued.Code;
        var baseUrl = options.PublicBaseUrl ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/c";
        return ApiResults.Json(new CodeCreatedResponse(code.Id, issued.Payload, CodePayload.ToLink(baseUrl, issued.Payload), code.Label,
            MediaKinds.ToWireNames(code.Media), code.CreatedAt, code.ExpiresAt, code.MaxScans,
            signed?.Payload, signed is null ? null : SessionQrPayload.ToLink(baseUrl, signed.Payload), signed?.KeyId), StatusCodes.Status201Created);
    }

    /// <summary>A hub ticket for the credential of this request (an owner's authentication, or a call token as the
    /// bearer): valid 30 seconds, once, as <c>?access_token=qht_…</c> on the hub; the connection closes when that
    /// credential expires.</summary>
    private static async Task<IResult> IssueHubTicketAsync(HttpContext http, CallService calls, ParticipantResolver participants, HubTickets tickets,
        IOptions<QrCallingOptions> options, TimeProvider time, QrCalling.Rooms.RoomService rooms, CancellationToken cancellationToken)
    {
        HubTickets.Admission admission;
        if (RoomEndpoints.BearerOf(http.Request) is { } bearer && bearer.StartsWith(QrCalling.Rooms.RoomService.TokenPrefix, StringComparison.Ordinal))
        {
            // A room participant's token: a ticket for /hubs/rooms (additive).
            var participant = await rooms.AuthenticateAsync(bearer, cancellationToken);
            var room = participant is null ? null : await rooms.GetAsync(participant.RoomId, cancellationToken);
            if (room is null)
            {
                return ApiResults.Problem(ParticipantResolver.Unauthorized("The participant token is unknown, left or its room ended."));
            }
            admission = new HubTickets.Admission(false, participant!.RoomId + "/" + participant.ParticipantId, room.Value.Room.ExpiresAt) { IsRoom = true };
        }
        else if (ParticipantResolver.CallTokenOf(http.Request, allowQuery: false) is not null)
        {
            var (actor, error) = await participants.ResolveAsync(http, cancellationToken);
            if (actor is null)
            {
                return ApiResults.Problem(error!);
            }
            var call = await calls.GetAsync(actor, actor.CallerCallId!, cancellationToken);
            if (!call.IsSuccess)
            {
                return ApiResults.Problem(call.Error!);
            }
            admission = new HubTickets.Admission(false, actor.CallerCallId!, call.Value.ExpiresAt);
        }
        else if (participants.OwnerId(http.User) is { } owner)
        {
            var expires = long.TryParse(http.User.FindFirst("exp")?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var exp)
                ? DateTimeOffset.FromUnixTimeSeconds(exp)
                : time.GetUtcNow() + options.Value.MaxCallDuration;
            admission = new HubTickets.Admission(true, owner, expires);
        }
        else
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (ticket, expiresAt) = tickets.Issue(admission);
        return ApiResults.Json(new HubTicketResponse(ticket, expiresAt), StatusCodes.Status201Created);
    }

    /// <summary>A new owner device: a server-issued id and its credential, which the device presents with the id
    /// (<c>?deviceId=&amp;deviceCredential=</c> on the hub, or the <c>X-QrCalling-Device-Credential</c> header on REST).</summary>
    private static IResult RegisterDevice(HttpContext http, ParticipantResolver participants, DeviceCredentials devices)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (deviceId, credential) = devices.Issue(owner);
        return ApiResults.Json(new DeviceRegisteredResponse(deviceId, credential), StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListCodesAsync(HttpContext http, CodeService codes, ParticipantResolver participants, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (limit, before, pagingError) = Paging(http.Request, defaultLimit: MaxHistoryLimit);
        if (pagingError is not null)
        {
            return ApiResults.Problem(pagingError);
        }
        CodeState? state = null;
        var stateText = http.Request.Query["state"].ToString();
        if (stateText.Length > 0)
        {
            if (!CodeStates.TryParse(stateText, out var parsed))
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest("state must be one of active, paused, revoked, expired, used_up."));
            }
            state = parsed;
        }
        var label = http.Request.Query["label"].ToString();
        if (label.Length > 200)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("label must be at most 200 characters."));
        }
        var query = new CodeListQuery { Limit = limit, Before = before, State = state, LabelContains = label.Length > 0 ? label : null };
        var now = time.GetUtcNow();
        var list = new List<CodeListItem>();
        foreach (var c in await codes.ListPageAsync(owner, query, cancellationToken))
        {
            list.Add(ListItem(c, now));
        }
        return ApiResults.Json(list);
    }

    private static async Task<IResult> RevokeCodeAsync(HttpContext http, string id, CodeService codes, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        if (!QrCallingIds.IsWellFormed(id))
        {
            return ApiResults.Problem(QrCallingError.NotFound); // as an unknown code
        }
        var result = await codes.RevokeAsync(owner, id, cancellationToken);
        return result.IsSuccess ? Results.NoContent() : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> RotateCodeAsync(HttpContext http, string id, CodeService codes, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        if (!QrCallingIds.IsWellFormed(id))
        {
            return ApiResults.Problem(QrCallingError.NotFound); // as an unknown code
        }
        var result = await codes.RotateAsync(owner, id, cancellationToken);
        return result.IsSuccess ? Created(http, result.Value, options.Value) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> UpdateCodeAsync(HttpContext http, string id, CodeService codes, ParticipantResolver participants,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<UpdateCodeRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (!TryParseMedia(body!.Media, out var media))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("media must be a non-empty list of \"audio\", \"video\", \"chat\"."));
        }
        if (!QrCallingIds.IsWellFormed(id))
        {
            return ApiResults.Problem(QrCallingError.NotFound); // as an unknown code
        }
        var result = await codes.UpdateAsync(owner, id, new CodeUpdate { Label = body.Label, Media = media }, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ListItem(result.Value, time.GetUtcNow())) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> DeleteCodeAsync(HttpContext http, string id, CodeService codes, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        if (!QrCallingIds.IsWellFormed(id))
        {
            return ApiResults.Problem(QrCallingError.NotFound); // as an unknown code
        }
        var result = await codes.DeleteAsync(owner, id, cancellationToken);
        return result.IsSuccess ? Results.NoContent() : ApiResults.Problem(result.Error!);
    }

    /// <summary>A code in the <c>GET /codes</c> item shape, its state judged at <paramref name="now"/>.</summary>
    internal static CodeListItem ListItem(CodeRecord c, DateTimeOffset now) =>
        new(c.Id, c.Label, MediaKinds.ToWireNames(c.Media), c.CreatedAt, c.ExpiresAt, c.MaxScans, c.ScanCount, c.LastScannedAt, c.RevokedAt,
            CodeStates.ToWireName(c.StateAt(now)), c.PausedAt);

    /// <summary><c>POST /qr</c>: the image of a code's link form (default; spec v1.1) or, with <c>form: "payload"</c>, of the bare
    /// payload. The link's base is <see cref="QrCallingOptions.PublicBaseUrl"/> or the request's <c>{scheme}://{host}/c</c>, as
    /// for <c>link</c> in <c>POST /codes</c>; either way the payload is the canonical text in upper case.</summary>
    private static async Task<IResult> RenderQrAsync(HttpContext http, QrRenderer renderer, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, ISessionQrSigner signer, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is null)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<QrRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        QrImageFormat format;
        switch (body!.Format?.Trim().ToLowerInvariant())
        {
            case "png": format = QrImageFormat.Png; break;
            case "svg": format = QrImageFormat.Svg; break;
            default: return ApiResults.Problem(QrCallingError.InvalidRequest("format must be \"png\" or \"svg\"."));
        }
        if (body.PixelsPerModule is < 1 or > 40)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("pixelsPerModule must be between 1 and 40."));
        }
        bool asLink;
        switch (body.Form?.Trim().ToLowerInvariant())
        {
            case null or "link": asLink = true; break;
            case "payload": asLink = false; break;
            default: return ApiResults.Problem(QrCallingError.InvalidRequest("form must be \"link\" or \"payload\"."));
        }
        var parsed = CodePayload.Parse(body.Payload);
        string payload;
        if (parsed.IsValid)
        {
            payload = CodePayload.Format(parsed.Token!);
        }
        else if (signer.Verify(body.Payload) is { IsValid: true, Qr: { } signed })
        {
            payload = signed.Payload; // a signed session QR of this host (additive), canonical upper case
        }
        else
        {
            return ApiResults.Problem(parsed.Status == PayloadStatus.Checksum ? QrCallingError.Checksum : QrCallingError.Malformed);
        }
        var text = asLink ? CodePayload.ToLink(QrLinkBase(http, options.Value), payload) : payload;
        var bytes = renderer.Render(text, format, body.PixelsPerModule);
        return Results.Bytes(bytes, format == QrImageFormat.Png ? "image/png" : "image/svg+xml");
    }

    /// <summary>The base of the link form in a QR image: the one <c>link</c> in <c>POST /codes</c> uses.</summary>
    private static string QrLinkBase(HttpContext http, QrCallingOptions options) =>
        options.PublicBaseUrl ?? $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}/c";

    private static async Task<IResult> ScanAsync(HttpContext http, CodeService codes, CodeReachability reachability, CancellationToken cancellationToken)
    {
        var (body, error) = await RequestReader.ReadAsync<PayloadRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await codes.ScanAsync(body!.Payload, body.CallerKey, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var policy = result.Value.Policy ?? new CallPolicyDecision(result.Value.Media, false, null);
        return ApiResults.Json(new ScanResponse(result.Value.Label, MediaKinds.ToWireNames(result.Value.Media),
            await reachability.OfScannedCodeAsync(result.Value, cancellationToken), policy.CallsAllowed, policy.ChatOnly, policy.QuietUntil));
    }

    private static async Task<IResult> StartCallAsync(HttpContext http, CallService calls, CodeCallLimiter perCode, IceServerProvider ice,
        RecentCallTokens recent, ProofOfWork proofs, ISessionQrSigner signer, CancellationToken cancellationToken)
    {
        var (body, error) = await RequestReader.ReadAsync<StartCallRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (!MediaKinds.TryParse(body!.Media, out var media))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("media must be \"audio\", \"video\" or \"chat\"."));
        }
        // A signed meet-now QR shares its code's budget (the call itself checks the signature again, and the code).
        var parsed = CodePayload.Parse(signer.Verify(body.Payload) is { IsValid: true, Qr: { } meet } ? meet.ToCodePayload() : body.Payload);
        if (parsed.IsValid && !perCode.TryAcquire(parsed.Token!))
        {
            // Over the code's budget: a caller that shows a proof of work still gets through, so a flood from a few
            // addresses makes calling this code slower, never impossible.
            var codeKey = perCode.KeyOf(parsed.Token!);
            if (!proofs.Verify(codeKey, body.Proof?.Challenge, body.Proof?.Solution))
            {
                var (challenge, difficulty) = proofs.Issue(codeKey);
                var status = StatusCodes.Status429TooManyRequests;
                return Results.Json(new ProofRequiredProblem("urn:qrcalling:error:" + QrCallingErrorCodes.ProofRequired,
                    Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status), status,
                    "Many calls to this code right now: solve the challenge and start the call again with the proof.",
                    QrCallingErrorCodes.ProofRequired, challenge, difficulty), QrCallingJson.Options, ApiResults.ProblemContentType, status);
            }
        }
        var result = await calls.StartAsync(body.Payload, media, body.CallerKey, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var call = result.Value.Call;
        recent.Add(result.Value.CallToken); // its caller gets its own budget from the first request on
        return ApiResults.Json(new CallStartedResponse(call.CallId, call.CallerId, result.Value.CallToken, call.ExpiresAt, ice.Create(ice.ExpiryFor(call.ExpiresAt))),
            StatusCodes.Status201Created);
    }

    /// <summary><c>?limit</c> (1 to 200) and <c>?before</c> (an ISO-8601 time compared with <c>createdAt</c>) of the
    /// owner's lists, newest first; the next page is <c>before</c> the last item's <c>createdAt</c>.</summary>
    private static (int Limit, DateTimeOffset? Before, QrCallingError? Error) Paging(HttpRequest request, int defaultLimit = MaxHistoryLimit)
    {
        var limit = defaultLimit;
        var limitText = request.Query["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxHistoryLimit))
        {
            return (0, null, QrCallingError.InvalidRequest($"limit must be between 1 and {MaxHistoryLimit}."));
        }
        var beforeText = request.Query["before"].ToString();
        if (beforeText.Length == 0)
        {
            return (limit, null, null);
        }
        return DateTimeOffset.TryParse(beforeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var before)
            ? (limit, before, null)
            : (0, null, QrCallingError.InvalidRequest("before must be an ISO-8601 time."));
    }

    private static async Task<IResult> HistoryAsync(HttpContext http, CallService calls, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (limit, before, pagingError) = Paging(http.Request, defaultLimit: 50);
        if (pagingError is not null)
        {
            return ApiResults.Problem(pagingError);
        }
        var stateText = http.Request.Query["state"].ToString();
        IAsyncEnumerable<CallRecord> records;
        if (stateText.Length > 0)
        {
            if (!CallWireNames.TryParseState(stateText, out var state))
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest("state must be one of ringing, active, ended."));
            }
            if (before is not null)
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest("before cannot be combined with state."));
            }
            records = calls.ListByStateAsync(owner, state, limit, cancellationToken);
        }
        else
        {
            records = calls.HistoryAsync(owner, limit, before, cancellationToken);
        }
        var list = new List<CallHistoryItem>();
        await foreach (var c in records)
        {
            list.Add(new CallHistoryItem(c.CallId, c.CodeId, c.Label, WireNames.MediaOf(c.Media), WireNames.Of(c.State), WireNames.Of(c.EndReason),
                c.CallerId, c.CreatedAt, c.AnsweredAt, c.EndedAt));
        }
        return ApiResults.Json(list);
    }

    /// <summary>The participant of a request about one call (call token or owner), or the problem to answer: the
    /// resolver's error, or <c>not_participant</c> for a call id that cannot be ours (answered like an unknown call).</summary>
    internal static async Task<(CallActor? Actor, IResult? Problem)> ParticipantOfCallAsync(HttpContext http, string callId,
        ParticipantResolver participants, CancellationToken cancellationToken)
    {
        var (actor, error) = await participants.ResolveAsync(http, cancellationToken);
        if (actor is null)
        {
            return (null, ApiResults.Problem(error!));
        }
        return QrCallingIds.IsWellFormed(callId) ? (actor, null) : (null, ApiResults.Problem(QrCallingError.NotParticipant));
    }

    private static async Task<IResult> GetCallAsync(HttpContext http, string callId, CallService calls, ParticipantResolver participants,
        RestPresence presence, CancellationToken cancellationToken)
    {
        var (actor, problem) = await ParticipantOfCallAsync(http, callId, participants, cancellationToken);
        if (actor is null)
        {
            return problem!;
        }
        var result = await calls.GetAsync(actor, callId, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var c = result.Value;
        if (c.State != CallState.Ended && (actor.IsCaller || c.AcceptedDeviceId == actor.DeviceId))
        {
            presence.Seen(actor, callId);
        }
        return ApiResults.Json(new CallStatusResponse(c.CallId, WireNames.Of(c.State), WireNames.MediaOf(c.Media), c.CreatedAt, c.AnsweredAt,
            c.EndedAt, WireNames.Of(c.EndReason)));
    }

    private static async Task<IResult> ReadEventsAsync(HttpContext http, string callId, CallService calls, ParticipantResolver participants,
        LongPollLimiter longPolls, RestPresence presence, CancellationToken cancellationToken)
    {
        var (actor, problem) = await ParticipantOfCallAsync(http, callId, participants, cancellationToken);
        if (actor is null)
        {
            return problem!;
        }
        long after = 0;
        var afterText = http.Request.Query["after"].ToString();
        if (afterText.Length > 0 && !long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("after must be a sequence number (0 or more)."));
        }
        var wait = 0;
        var waitText = http.Request.Query["waitSeconds"].ToString();
        if (waitText.Length > 0 && (!int.TryParse(waitText, NumberStyles.None, CultureInfo.InvariantCulture, out wait) || wait > 30))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("waitSeconds must be between 0 and 30."));
        }
        using var lease = wait > 0 ? longPolls.Acquire(LongPollLimiter.KeyOf(actor, callId)) : null;
        if (lease is { IsAcquired: false })
        {
            return ApiResults.Problem(QrCallingErrorCodes.RateLimited, "Too many long polls on this call at once; wait for one to return.");
        }
        var result = await calls.ReadEventsAsync(actor, callId, after, TimeSpan.FromSeconds(wait), cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        presence.Seen(actor, callId); // a REST-only side stays present while it keeps polling
        return ApiResults.Json(ToWire(result.Value));
    }

    /// <summary>Mailbox entries in the wire shape <c>{seq, type, from, data, at}</c> (shared with the hub's Resume).</summary>
    public static List<MailboxEvent> ToWire(IReadOnlyList<MailboxEntry> entries)
    {
        var list = new List<MailboxEvent>(entries.Count);
        foreach (var e in entries)
        {
            JsonElement data;
            try
            {
                using var document = JsonDocument.Parse(e.DataJson);
                data = document.RootElement.Clone();
            }
            catch (JsonException)
            {
                data = JsonSerializer.SerializeToElement(e.DataJson, QrCallingJson.Options);
            }
            list.Add(new MailboxEvent(e.Seq, e.Type, e.From, data, e.At));
        }
        return list;
    }

    private static async Task<IResult> PostEventAsync(HttpContext http, string callId, CallService calls, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, RestPresence presence, CancellationToken cancellationToken)
    {
        var (actor, problem) = await ParticipantOfCallAsync(http, callId, participants, cancellationToken);
        if (actor is null)
        {
            return problem!;
        }
        var cap = Math.Max(options.Value.MaxSignalDataBytes, options.Value.MaxChatCiphertextBytes) * 2 + 4096;
        var (body, readError) = await RequestReader.ReadAsync<PostEventRequest>(http.Request, cap, cancellationToken);
        if (readError is not null)
        {
            return ApiResults.Problem(readError);
        }
        if (string.IsNullOrEmpty(body!.Type) || body.Data.ValueKind == JsonValueKind.Undefined)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("type and data are required."));
        }
        QrCallingResult<long> result;
        if (body.Type == "chat")
        {
            if (body.Data.ValueKind != JsonValueKind.String)
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest("The data of a chat is the ciphertext string."));
            }
            result = await calls.ChatAsync(actor, callId, body.Data.GetString(), cancellationToken);
        }
        else
        {
            result = await calls.SignalAsync(actor, callId, body.Type, body.Data, cancellationToken);
        }
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        presence.Seen(actor, callId);
        return ApiResults.Json(new SeqResponse(result.Value), StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> AckEventsAsync(HttpContext http, string callId, CallService calls, ParticipantResolver participants,
        RestPresence presence, CancellationToken cancellationToken)
    {
        var (actor, problem) = await ParticipantOfCallAsync(http, callId, participants, cancellationToken);
        if (actor is null)
        {
            return problem!;
        }
        var (body, readError) = await RequestReader.ReadAsync<AckRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (readError is not null)
        {
            return ApiResults.Problem(readError);
        }
        if (body!.Seq is not (>= 0 and var seq))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("seq is required: a sequence number (0 or more)."));
        }
        var result = await calls.AcknowledgeAsync(actor, callId, seq, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        presence.Seen(actor, callId);
        return Results.NoContent();
    }

    /// <summary>ICE servers with TURN credentials for one call: a caller's own (its token), or an owner's for one of its
    /// calls that is ringing or active (<c>?callId=</c>). Credentials live <c>Turn:CredentialLifetime</c> at most and never
    /// past the call; none are issued for an ended call. An owner without <c>?callId=</c> (a v1 client preparing to
    /// answer) gets credentials of that short lifetime too.</summary>
    private static async Task<IResult> IceServersAsync(HttpContext http, CallService calls, ParticipantResolver participants, IceServerProvider ice,
        IOptions<QrCallingOptions> options, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        DateTimeOffset until;
        var callId = http.Request.Query["callId"].ToString();
        if (ParticipantResolver.CallTokenOf(http.Request, allowQuery: false) is null && callId.Length == 0)
        {
            if (participants.OwnerId(http.User) is null)
            {
                return ApiResults.OwnerUnauthorized();
            }
            until = now + options.Value.MaxCallDuration;
        }
        else
        {
            var (actor, error) = await participants.ResolveAsync(http, cancellationToken);
            if (actor is null)
            {
                return ApiResults.Problem(error!);
            }
            if (!actor.IsCaller && !QrCallingIds.IsWellFormed(callId))
            {
                return ApiResults.Problem(QrCallingError.NotParticipant); // as an unknown call
            }
            var call = await calls.GetAsync(actor, actor.CallerCallId ?? callId, cancellationToken);
            if (!call.IsSuccess)
            {
                return ApiResults.Problem(call.Error!);
            }
            if (call.Value.State == CallState.Ended || call.Value.ExpiresAt <= now)
            {
                return ApiResults.Problem(QrCallingError.InvalidState("The call has ended: no relay credentials are issued for it."));
            }
            until = call.Value.ExpiresAt;
        }
        var expiresAt = ice.ExpiryFor(until);
        var ttl = Math.Max(0, (long)(expiresAt - now).TotalSeconds);
        return ApiResults.Json(new IceServersResponse(ice.Create(expiresAt), ttl));
    }
}
