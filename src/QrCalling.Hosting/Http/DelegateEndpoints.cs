using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Delegates;
using QrCalling.Storage;

namespace QrCalling.Hosting.Http;

/// <summary>Delegates (additive): the owner invites another account to answer one of their codes too (a single-use
/// invitation link or QR), the other person accepts it signed in with their own account, and a call still ringing after
/// the delegate's delay rings the delegate's devices as well. The owner lists and removes delegates; a delegate lists the
/// codes it answers for and leaves.</summary>
internal static class DelegateEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/codes/{id}/delegates/invitations", CreateInvitationAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner, ExampleInvite)
            .Accepts<InviteRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Invite someone to answer a code too")
            .WithDescription("Owner only. Optional body `{ringAfterSeconds}` (0 up to the ring timeout, exclusive; default " +
                "`QrCalling:DelegateRingAfter`, 20). `201 {invitationPayload, expiresAt, ringAfterSeconds, link, qrCode}`: a single-use " +
                "payload (`qdi_` + 43 base64url characters) valid `QrCalling:DelegateInvitationLifetime` (10 minutes), the link " +
                "`<origin>/delegate#<payload>` (the secret in the fragment: a link preview neither sees nor spends it) and its QR as an SVG " +
                "data URI. The server keeps only a keyed hash. `404 not_found` for an unknown, revoked or another owner's code.")
            .Produces<InvitationResponse>(StatusCodes.Status201Created).Problems(400, 401, 404, 413, 415, 429);
        api.MapPost("/delegates/accept", AcceptAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner, ExampleAccept)
            .Accepts<AcceptInvitationRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Accept an invitation to answer a code")
            .WithDescription("Signed in (as the person who will answer). `{invitationPayload}` → `201 {delegateId, label, ringAfterSeconds, " +
                "createdAt}`: from now on calls to that code that ring unanswered for `ringAfterSeconds` ring this account's devices too. " +
                "Used, expired, unknown or malformed: `404 invitation_unavailable`, one answer for all. The code's own owner: " +
                "`400 invalid_request`. Past `MaxDelegatesPerCode` (5): `403 quota_exceeded`. Accepting again returns the same delegation.")
            .Produces<DelegationResponse>(StatusCodes.Status201Created).Problems(400, 401, 403, 404, 413, 415, 429);
        api.MapGet("/codes/{id}/delegates", ListForCodeAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The delegates of a code")
            .WithDescription("Owner only. `[{delegateId, ringAfterSeconds, createdAt}]`, oldest first; nothing about the delegate's account. " +
                "`404 not_found` for an unknown code or another owner's.")
            .Produces<IReadOnlyList<DelegateResponse>>().Problems(401, 404, 429);
        api.MapDelete("/codes/{id}/delegates/{delegateId}", RemoveAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Remove a delegate")
            .WithDescription("Owner only. `204`: calls of the code no longer ring the delegate, and the delegate can no longer act in a " +
                "call of the code. `404 not_found` for an unknown delegate, another code's or another owner's.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
        api.MapGet("/delegates", ListMineAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The codes this account answers for")
            .WithDescription("Signed in. `[{delegateId, label, ringAfterSeconds, createdAt}]`, oldest first: the code's label is all a " +
                "delegate learns about the code or its owner.")
            .Produces<IReadOnlyList<DelegationResponse>>().Problems(401, 429);
        api.MapDelete("/delegates/{delegateId}", LeaveAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Stop answering for a code")
            .WithDescription("Signed in as the delegate. `204`; `404 not_found` for an unknown delegation or another account's.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
    }

    private static JsonNode ExampleInvite() => new JsonObject { ["ringAfterSeconds"] = 20 };

    private static JsonNode ExampleAccept() => new JsonObject { ["invitationPayload"] = DelegateService.InvitationPrefix + new string('A', 43) };

    private static DelegationResponse ToWire(Delegation d) =>
        new(d.Delegate.DelegateId, d.Label, (int)d.Delegate.RingAfter.TotalSeconds, d.Delegate.CreatedAt);

    private static async Task<IResult> CreateInvitationAsync(HttpContext http, string id, DelegateService delegates, ParticipantResolver participants,
        QrRenderer renderer, IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        TimeSpan? ringAfter = null;
        if (http.Request.ContentLength is not 0 && (http.Request.ContentLength is not null || http.Request.ContentType is not null))
        {
            var (body, error) = await RequestReader.ReadAsync<InviteRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
            if (error is not null)
            {
                return ApiResults.Problem(error);
            }
            ringAfter = body!.RingAfterSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null;
        }
        var result = await delegates.CreateInvitationAsync(owner, id, ringAfter, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var ticket = result.Value;
        var origin = options.Value.PublicBaseUrl is { } publicBase && Uri.TryCreate(publicBase, UriKind.Absolute, out var uri)
            ? uri.GetLeftPart(UriPartial.Authority)
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        var link = origin + "/delegate#" + ticket.InvitationPayload;
        var svg = renderer.Render(link, QrImageFormat.Svg);
        return ApiResults.Json(new InvitationResponse(ticket.InvitationPayload, ticket.ExpiresAt, (int)ticket.RingAfter.TotalSeconds, link,
            "data:image/svg+xml;base64," + Convert.ToBase64String(svg)), StatusCodes.Status201Created);
    }

    private static async Task<IResult> AcceptAsync(HttpContext http, DelegateService delegates, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } account)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<AcceptInvitationRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await delegates.AcceptInvitationAsync(account, body!.InvitationPayload, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value), StatusCodes.Status201Created) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> ListForCodeAsync(HttpContext http, string id, DelegateService delegates, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await delegates.ListForCodeAsync(owner, id, cancellationToken);
        return result.IsSuccess
            ? ApiResults.Json(result.Value.Select(d => new DelegateResponse(d.DelegateId, (int)d.RingAfter.TotalSeconds, d.CreatedAt)).ToList())
            : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> RemoveAsync(HttpContext http, string id, string delegateId, DelegateService delegates, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return await delegates.RemoveAsync(owner, id, delegateId, cancellationToken) ? Results.NoContent() : ApiResults.Problem(QrCallingError.NotFound);
    }

    private static async Task<IResult> ListMineAsync(HttpContext http, DelegateService delegates, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } account)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return ApiResults.Json((await delegates.ListForDelegateAsync(account, cancellationToken)).Select(ToWire).ToList());
    }

    private static async Task<IResult> LeaveAsync(HttpContext http, string delegateId, DelegateService delegates, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } account)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return await delegates.LeaveAsync(account, delegateId, cancellationToken) ? Results.NoContent() : ApiResults.Problem(QrCallingError.NotFound);
    }
}

internal sealed record InviteRequest(int? RingAfterSeconds);

internal sealed record InvitationResponse(string InvitationPayload, DateTimeOffset ExpiresAt, int RingAfterSeconds, string Link, string QrCode);

internal sealed record AcceptInvitationRequest(string? InvitationPayload);

internal sealed record DelegationResponse(string DelegateId, string Label, int RingAfterSeconds, DateTimeOffset CreatedAt);

internal sealed record DelegateResponse(string DelegateId, int RingAfterSeconds, DateTimeOffset CreatedAt);
