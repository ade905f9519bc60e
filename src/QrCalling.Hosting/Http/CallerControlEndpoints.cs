using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QrCalling.Codes;
using QrCalling.Hosting.Internal;
using QrCalling.Storage;

namespace QrCalling.Hosting.Http;

/// <summary>Who may call, and when (additive to v1): a code's availability (quiet hours, chat-only mode), blocking the
/// caller of a call on its code, and the owner's list of blocks.</summary>
internal static class CallerControlEndpoints
{
    private static readonly string[] DayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/codes/{id}/availability", GetAvailabilityAsync).Documented(OpenApiDocs.CodesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("A code's quiet hours and chat-only mode")
            .WithDescription("Owner only. The code's `chatOnly` mode and `quietHours` (`{start, end, days, timeZone}` or null), and " +
                "under `now` what they allow at this moment: `callsAllowed`, `chatOnly`, `quietUntil` (the same members callers get " +
                "from `POST /scan`). `404 not_found` for an unknown code or another owner's.")
            .Produces<AvailabilityResponse>().Problems(401, 404, 429);
        api.MapPut("/codes/{id}/availability", SetAvailabilityAsync).Documented(OpenApiDocs.CodesTag, OperationAccess.Owner, ExampleAvailability)
            .Accepts<AvailabilityRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Set a code's quiet hours and chat-only mode")
            .WithDescription("Owner only. Replaces the code's policy (a member left out is off). `chatOnly: true` takes chat calls only, " +
                "at any time. `quietHours` holds voice and video back (chat still rings) from `start` to `end` (`HH:mm`, local time in " +
                "`timeZone`, an IANA id such as `Europe/Berlin`), starting on each of `days` (`sun` … `sat`; all days when left out); " +
                "an `end` before `start` runs overnight into the next day. Quiet hours follow the zone's daylight-saving rules. While " +
                "either holds voice or video back, `POST /calls` with them answers `403 chat_only` or `403 quiet_hours`. `400 " +
                "invalid_request` for an unknown time zone, a time that is not `HH:mm`, an unknown day, no day, or `start` equal to " +
                "`end`; `404 not_found` for an unknown code or another owner's. Answers as `GET`.")
            .Produces<AvailabilityResponse>().Problems(400, 401, 404, 413, 415, 429);
        api.MapPost("/calls/{callId}/block", BlockAsync).Documented(OpenApiDocs.CallsTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Block the caller of a call on its code")
            .WithDescription("Owner only, for one of the owner's calls (any state, while it is in the history). The browser that started " +
                "it (its `callerKey`) then gets `404 unavailable` on that code, exactly as for a dead code; other callers and other codes " +
                "are not affected, and nothing identifies the caller to the owner: the server keeps only a keyed hash of the code and the " +
                "caller key. Blocking the same caller again returns the existing block. `201 {blockId, codeId, createdAt}`. `404 " +
                "not_found` for an unknown call or another owner's; `409 caller_unknown` when the caller's app sent no caller key.")
            .Produces<BlockResponse>(StatusCodes.Status201Created).Problems(401, 404, 409, 429);
        api.MapGet("/codes/{id}/blocks", ListBlocksAsync).Documented(OpenApiDocs.CodesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("A code's blocked callers")
            .WithDescription("Owner only. `[{blockId, codeId, createdAt}]`, newest first: an opaque id and the date, nothing about the " +
                "caller. Blocks go with the code when it is deleted. `404 not_found` for an unknown code or another owner's.")
            .Produces<IReadOnlyList<BlockResponse>>().Problems(401, 404, 429);
        api.MapDelete("/codes/{id}/blocks/{blockId}", UnblockAsync).Documented(OpenApiDocs.CodesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Unblock a caller")
            .WithDescription("Owner only. `204`; that caller can call the code again. `404 not_found` for an unknown code, another " +
                "owner's, or an unknown block.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
    }

    private static JsonNode ExampleAvailability() => new JsonObject
    {
        ["chatOnly"] = false,
        ["quietHours"] = new JsonObject
        {
            ["start"] = "22:00",
            ["end"] = "07:00",
            ["days"] = new JsonArray("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
            ["timeZone"] = "Europe/Berlin",
        },
    };

    private static async Task<IResult> GetAvailabilityAsync(HttpContext http, string id, CallerControlService controls, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await controls.GetPolicyAsync(owner, id, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value)) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> SetAvailabilityAsync(HttpContext http, string id, CallerControlService controls, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<AvailabilityRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        QuietHours? quiet = null;
        if (body!.QuietHours is { } q)
        {
            if (!TryParseQuietHours(q, out quiet, out var problem))
            {
                return ApiResults.Problem(QrCallingError.InvalidRequest(problem));
            }
        }
        var result = await controls.SetPolicyAsync(owner, id, new CallPolicy { ChatOnly = body.ChatOnly ?? false, QuietHours = quiet }, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value)) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> BlockAsync(HttpContext http, string callId, CallerControlService controls, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await controls.BlockCallerAsync(owner, callId, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value), StatusCodes.Status201Created) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> ListBlocksAsync(HttpContext http, string id, CallerControlService controls, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await controls.ListBlocksAsync(owner, id, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(result.Value.Select(ToWire).ToList()) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> UnblockAsync(HttpContext http, string id, string blockId, CallerControlService controls,
        ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await controls.UnblockAsync(owner, id, blockId, cancellationToken);
        return result.IsSuccess ? Results.NoContent() : ApiResults.Problem(result.Error!);
    }

    private static BlockResponse ToWire(CallerBlock block) => new(block.BlockId, block.CodeId, block.CreatedAt);

    private static AvailabilityResponse ToWire(CodeCallPolicy policy)
    {
        var q = policy.Policy.QuietHours;
        var quiet = q is null ? null : new QuietHoursDto(q.Start.ToString("HH:mm", CultureInfo.InvariantCulture),
            q.End.ToString("HH:mm", CultureInfo.InvariantCulture),
            [.. Enumerable.Range(0, 7).Where(d => (q.Days & (QuietDays)(1 << d)) != 0).Select(d => (string?)DayNames[d])], q.TimeZone);
        return new AvailabilityResponse(policy.Policy.ChatOnly, quiet,
            new AvailabilityNow(policy.Now.CallsAllowed, policy.Now.ChatOnly, policy.Now.QuietUntil));
    }

    private static bool TryParseQuietHours(QuietHoursDto dto, out QuietHours? quiet, out string problem)
    {
        quiet = null;
        if (!TryParseTime(dto.Start, out var start) || !TryParseTime(dto.End, out var end))
        {
            problem = "quietHours.start and quietHours.end must be times of day as HH:mm (00:00 to 23:59).";
            return false;
        }
        var days = QuietDays.None;
        if (dto.Days is null)
        {
            days = QuietDays.All;
        }
        else
        {
            foreach (var name in dto.Days)
            {
                var index = Array.IndexOf(DayNames, name?.ToLowerInvariant());
                if (index < 0)
                {
                    problem = "quietHours.days must be a list of sun, mon, tue, wed, thu, fri, sat.";
                    return false;
                }
                days |= (QuietDays)(1 << index);
            }
        }
        var candidate = new QuietHours { Start = start, End = end, Days = days, TimeZone = dto.TimeZone ?? "" };
        if (CallPolicyEvaluator.Validate(candidate) is { } invalid)
        {
            problem = "quietHours: " + invalid;
            return false;
        }
        quiet = candidate;
        problem = "";
        return true;
    }

    private static bool TryParseTime(string? text, out TimeOnly time) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out time);
}
