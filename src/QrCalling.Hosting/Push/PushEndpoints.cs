using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Internal;
using QrCalling.Storage;

namespace QrCalling.Hosting.Http;

/// <summary><c>GET /push/public-key</c> → <c>{publicKey}</c>; <c>POST /push/subscriptions</c> (owner) with the browser's
/// <c>{endpoint, keys: {p256dh, auth}}</c> → 201; <c>DELETE /push/subscriptions</c> (owner) with <c>{endpoint}</c> → 204.</summary>
internal static class PushEndpoints
{
    /// <summary>A subscription whose endpoint is not under <see cref="QrCallingPushOptions.AllowedEndpoints"/> (400).</summary>
    public const string EndpointNotAllowed = "endpoint_not_allowed";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/push/public-key", PublicKeyAsync).Describe(OpenApiDocs.PushPublicKey).Produces<PushPublicKeyResponse>().Produces(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/push/subscriptions", SubscribeAsync).Describe(OpenApiDocs.PushSubscribe).Accepts<PushSubscriptionRequest>("application/json")
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy).Produces<PushSubscribedResponse>(StatusCodes.Status201Created)
            .Produces<QrCallingProblem>(StatusCodes.Status400BadRequest, ApiResults.ProblemContentType)
            .Produces<QrCallingProblem>(StatusCodes.Status401Unauthorized, ApiResults.ProblemContentType)
            .Produces<QrCallingProblem>(StatusCodes.Status403Forbidden, ApiResults.ProblemContentType);
        api.MapDelete("/push/subscriptions", UnsubscribeAsync).Describe(OpenApiDocs.PushUnsubscribe).Accepts<PushUnsubscribeRequest>("application/json")
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy).Produces(StatusCodes.Status204NoContent)
            .Produces<QrCallingProblem>(StatusCodes.Status401Unauthorized, ApiResults.ProblemContentType)
            .Produces<QrCallingProblem>(StatusCodes.Status404NotFound, ApiResults.ProblemContentType);
    }

    private static async Task<IResult> PublicKeyAsync(VapidKeys keys, CancellationToken cancellationToken) =>
        ApiResults.Json(new PushPublicKeyResponse((await keys.GetAsync(cancellationToken)).PublicKey));

    private static async Task<IResult> SubscribeAsync(HttpContext http, ParticipantResolver participants, IStorage storage,
        IOptions<QrCallingPushOptions> options, PushEndpointPolicy policy, TimeProvider time, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.Problem(ParticipantResolver.Unauthorized("Owner authentication is required."));
        }
        var (body, error) = await RequestReader.ReadAsync<PushSubscriptionRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (string.IsNullOrEmpty(body!.Endpoint) || !Uri.TryCreate(body.Endpoint, UriKind.Absolute, out _))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("endpoint must be the push subscription's absolute URL."));
        }
        if (!policy.IsAllowed(body.Endpoint))
        {
            return ApiResults.Problem(EndpointNotAllowed, "This push service is not allowed on this server.");
        }
        if (body.Keys?.P256dh is not { } p256dh || body.Keys.Auth is not { } auth)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("keys.p256dh and keys.auth are required."));
        }
        if (!VapidKeys.AreValidSubscriptionKeys(p256dh.TrimEnd('='), auth.TrimEnd('='), out var keyProblem))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest(keyProblem!));
        }
        var record = new PushSubscriptionRecord
        {
            OwnerId = owner,
            Endpoint = body.Endpoint,
            // Canonical base64url, whatever padding the client sent.
            P256dh = WebEncoders.Base64UrlEncode(WebEncoders.Base64UrlDecode(p256dh.TrimEnd('='))),
            Auth = WebEncoders.Base64UrlEncode(WebEncoders.Base64UrlDecode(auth.TrimEnd('='))),
            CreatedAt = time.GetUtcNow(),
        };
        var max = options.Value.MaxSubscriptionsPerOwner;
        var status = await storage.PushSubscriptions.SaveAsync(record, max, cancellationToken);
        return status == PushSubscriptionSaveStatus.LimitReached
            ? ApiResults.Problem(QrCallingErrorCodes.QuotaExceeded,
                $"At most {max} browsers or devices can be rung; turn ringing off on one of them first.")
            : ApiResults.Json(new PushSubscribedResponse(record.Endpoint), StatusCodes.Status201Created);
    }

    private static async Task<IResult> UnsubscribeAsync(HttpContext http, ParticipantResolver participants, IStorage storage, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.Problem(ParticipantResolver.Unauthorized("Owner authentication is required."));
        }
        var (body, error) = await RequestReader.ReadAsync<PushUnsubscribeRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (string.IsNullOrEmpty(body!.Endpoint))
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("endpoint is required."));
        }
        return await storage.PushSubscriptions.DeleteAsync(owner, body.Endpoint, cancellationToken)
            ? Results.NoContent()
            : ApiResults.Problem(QrCallingError.NotFound);
    }
}

internal sealed record PushPublicKeyResponse(string PublicKey);

internal sealed record PushSubscriptionKeys(string? P256dh, string? Auth);

internal sealed record PushSubscriptionRequest(string? Endpoint, PushSubscriptionKeys? Keys);

internal sealed record PushUnsubscribeRequest(string? Endpoint);

internal sealed record PushSubscribedResponse(string Endpoint);
