using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace QrCalling.Hosting.Http;

/// <summary>The RFC 9457 body of every QrCalling error: no trace id or time, so equal errors are byte-identical.</summary>
/// <param name="Type">A URI naming the problem type.</param>
/// <param name="Title">The HTTP reason phrase.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Detail">A short explanation (never a token, payload or IP).</param>
/// <param name="Code">The stable machine-readable code.</param>
internal sealed record QrCallingProblem(string Type, string Title, int Status, string Detail, string Code);

/// <summary>The 429 <c>proof_required</c> problem: <see cref="QrCallingProblem"/>'s members plus the challenge.</summary>
/// <param name="Type">A URI naming the problem type.</param>
/// <param name="Title">The HTTP reason phrase.</param>
/// <param name="Status">The HTTP status.</param>
/// <param name="Detail">A short explanation.</param>
/// <param name="Code">Always <c>proof_required</c>.</param>
/// <param name="Challenge">The challenge to solve.</param>
/// <param name="Difficulty">Leading zero bits SHA-256 of <c>challenge:solution</c> must have.</param>
internal sealed record ProofRequiredProblem(string Type, string Title, int Status, string Detail, string Code, string Challenge, int Difficulty);

/// <summary>Builds QrCalling's HTTP results.</summary>
internal static class ApiResults
{
    public const string ProblemContentType = "application/problem+json";

    /// <summary>The code of an unexpected server failure (500); its detail never tells the cause.</summary>
    public const string InternalError = "internal_error";

    /// <summary>401 for an owner route called without the host's owner authentication.</summary>
    public static IResult OwnerUnauthorized() => Problem(ParticipantResolver.Unauthorized("Owner authentication is required."));

    /// <summary>Documents the problem statuses a route answers with (plus 503 storage_unavailable, which any route may
    /// answer), as <see cref="QrCallingProblem"/> bodies.</summary>
    public static RouteHandlerBuilder Problems(this RouteHandlerBuilder builder, params int[] statuses)
    {
        foreach (var status in statuses)
        {
            builder.Produces<QrCallingProblem>(status, ProblemContentType);
        }
        return builder.Produces<QrCallingProblem>(StatusCodes.Status503ServiceUnavailable, ProblemContentType);
    }

    public static int StatusOf(string code) => code switch
    {
        QrCallingErrorCodes.Malformed or QrCallingErrorCodes.Checksum or QrCallingErrorCodes.InvalidRequest => StatusCodes.Status400BadRequest,
        QrCallingErrorCodes.Unavailable or QrCallingErrorCodes.NotFound => StatusCodes.Status404NotFound,
        QrCallingErrorCodes.Unauthorized => StatusCodes.Status401Unauthorized,
        QrCallingErrorCodes.NotParticipant or QrCallingErrorCodes.OriginNotAllowed or QrCallingErrorCodes.QuotaExceeded => StatusCodes.Status403Forbidden,
        QrCallingErrorCodes.MediaNotAllowed or QrCallingErrorCodes.QuietHours or QrCallingErrorCodes.ChatOnly => StatusCodes.Status403Forbidden,
        QrCallingErrorCodes.CallerUnknown => StatusCodes.Status409Conflict,
        QrCallingErrorCodes.PairingUnavailable => StatusCodes.Status404NotFound,
        QrCallingErrorCodes.InvitationUnavailable => StatusCodes.Status404NotFound,
        QrCallingErrorCodes.RoomUnavailable => StatusCodes.Status404NotFound,
        QrCallingErrorCodes.RoomFull => StatusCodes.Status409Conflict,
        QrCallingErrorCodes.InvalidDisplayName or QrCallingErrorCodes.UnknownParticipant => StatusCodes.Status400BadRequest,
        QrCallingErrorCodes.DevicePending => StatusCodes.Status403Forbidden,
        QrCallingErrorCodes.BackupTooLarge => StatusCodes.Status413PayloadTooLarge,
        QrCallingErrorCodes.InvalidState or QrCallingErrorCodes.MessageExists or QrCallingErrorCodes.MessageWindowClosed => StatusCodes.Status409Conflict,
        QrCallingErrorCodes.MessagesUnavailable => StatusCodes.Status404NotFound,
        QrCallingErrorCodes.InboxFull => StatusCodes.Status429TooManyRequests,
        QrCallingErrorCodes.TooLarge => StatusCodes.Status413PayloadTooLarge,
        QrCallingErrorCodes.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        QrCallingErrorCodes.RateLimited or QrCallingErrorCodes.MailboxFull or QrCallingErrorCodes.ProofRequired => StatusCodes.Status429TooManyRequests,
        QrCallingErrorCodes.StorageUnavailable or QrCallingErrorCodes.Maintenance or QrCallingErrorCodes.SigningUnavailable => StatusCodes.Status503ServiceUnavailable,
        InternalError => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };

    public static QrCallingProblem ProblemOf(QrCallingError error)
    {
        var status = StatusOf(error.Code);
        return new QrCallingProblem("urn:qrcalling:error:" + error.Code, ReasonPhrases.GetReasonPhrase(status), status, error.Detail, error.Code);
    }

    public static IResult Problem(QrCallingError error)
    {
        var problem = ProblemOf(error);
        var result = Results.Json(problem, QrCallingJson.Options, ProblemContentType, problem.Status);
        return error.Code == QrCallingErrorCodes.MailboxFull ? new RetryAfter(result, 1) : result;
    }

    /// <summary>A result with a <c>Retry-After</c> header (seconds).</summary>
    private sealed class RetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    public static IResult Problem(string code, string detail) => Problem(new QrCallingError(code, detail));

    public static IResult Json<T>(T value, int status = StatusCodes.Status200OK) =>
        Results.Json(value, QrCallingJson.Options, "application/json; charset=utf-8", status);

    /// <summary>Writes a problem directly (for middleware such as the rate limiter's rejection).</summary>
    public static Task WriteProblemAsync(HttpContext context, QrCallingError error, CancellationToken cancellationToken)
    {
        var problem = ProblemOf(error);
        context.Response.StatusCode = problem.Status;
        context.Response.ContentType = ProblemContentType;
        SecurityHeaders.Apply(context.Response);
        return context.Response.Body.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(problem, QrCallingJson.Options), cancellationToken).AsTask();
    }
}

/// <summary>Headers for API responses that do not touch a host's own pages.</summary>
internal static class SecurityHeaders
{
    public static void Apply(HttpResponse response)
    {
        var headers = response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers["Referrer-Policy"] = "no-referrer";
    }
}
