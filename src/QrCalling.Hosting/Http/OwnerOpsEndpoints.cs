using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

/// <summary>Issue 13's owner routes: one code, pause and resume, and call control without a socket (accept, reject and
/// hangup over REST, doing exactly what the hub methods do).</summary>
internal static class OwnerOpsEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/codes/{id}", GetCodeAsync).Describe(OpenApiDocs.GetCode).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .Produces<CodeListItem>().Problems(401, 404, 429);
        api.MapPost("/codes/{id}/pause", (HttpContext http, string id, CodeService codes, ParticipantResolver participants, TimeProvider time, CancellationToken ct) =>
                SetPausedAsync(http, id, paused: true, codes, participants, time, ct))
            .Describe(OpenApiDocs.PauseCode).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy).Produces<CodeListItem>().Problems(401, 404, 429);
        api.MapPost("/codes/{id}/resume", (HttpContext http, string id, CodeService codes, ParticipantResolver participants, TimeProvider time, CancellationToken ct) =>
                SetPausedAsync(http, id, paused: false, codes, participants, time, ct))
            .Describe(OpenApiDocs.ResumeCode).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy).Produces<CodeListItem>().Problems(401, 404, 429);
        api.MapPost("/calls/{callId}/accept", (HttpContext http, string callId, CallService calls, ParticipantResolver participants, RestPresence presence, CancellationToken ct) =>
                ControlAsync(http, callId, CallControl.Accept, calls, participants, presence, ct))
            .Describe(OpenApiDocs.AcceptCall).RequireRateLimiting(QrCallingEndpoints.ParticipantPolicy).Produces<CallStatusResponse>().Problems(401, 403, 409, 429);
        api.MapPost("/calls/{callId}/reject", (HttpContext http, string callId, CallService calls, ParticipantResolver participants, RestPresence presence, CancellationToken ct) =>
                ControlAsync(http, callId, CallControl.Reject, calls, participants, presence, ct))
            .Describe(OpenApiDocs.RejectCall).RequireRateLimiting(QrCallingEndpoints.ParticipantPolicy).Produces<CallStatusResponse>().Problems(401, 403, 409, 429);
        api.MapPost("/calls/{callId}/hangup", (HttpContext http, string callId, CallService calls, ParticipantResolver participants, RestPresence presence, CancellationToken ct) =>
                ControlAsync(http, callId, CallControl.Hangup, calls, participants, presence, ct))
            .Describe(OpenApiDocs.HangupCall).RequireRateLimiting(QrCallingEndpoints.ParticipantPolicy).Produces<CallStatusResponse>().Problems(401, 403, 409, 429);
    }

    private enum CallControl
    {
        Accept,
        Reject,
        Hangup,
    }

    private static async Task<IResult> GetCodeAsync(HttpContext http, string id, CodeService codes, ParticipantResolver participants, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await codes.GetAsync(owner, id, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(QrCallingEndpoints.ListItem(result.Value, time.GetUtcNow())) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> SetPausedAsync(HttpContext http, string id, bool paused, CodeService codes, ParticipantResolver participants,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await codes.SetPausedAsync(owner, id, paused, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(QrCallingEndpoints.ListItem(result.Value, time.GetUtcNow())) : ApiResults.Problem(result.Error!);
    }

    /// <summary>Accept, reject or hangup through the same <see cref="CallService"/> commands as the hub: the same state
    /// machine, the same events to the other side, the same error codes (as problem details).</summary>
    private static async Task<IResult> ControlAsync(HttpContext http, string callId, CallControl control, CallService calls,
        ParticipantResolver participants, RestPresence presence, CancellationToken cancellationToken)
    {
        var (actor, problem) = await QrCallingEndpoints.ParticipantOfCallAsync(http, callId, participants, cancellationToken);
        if (actor is null)
        {
            return problem!;
        }
        // Once the store changed, the command runs to its end (deliveries included) even if the client goes away.
        var result = control switch
        {
            CallControl.Accept => await calls.AcceptAsync(actor, callId, cancellationToken),
            CallControl.Reject => await calls.RejectAsync(actor, callId, cancellationToken),
            _ => await calls.HangupAsync(actor, callId, cancellationToken),
        };
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var c = result.Value;
        if (control == CallControl.Accept)
        {
            presence.Seen(actor, callId); // the accepting device is present from now on, as long as it keeps polling
        }
        return ApiResults.Json(new CallStatusResponse(c.CallId, WireNames.Of(c.State), WireNames.MediaOf(c.Media), c.CreatedAt, c.AnsweredAt,
            c.EndedAt, WireNames.Of(c.EndReason)));
    }
}
