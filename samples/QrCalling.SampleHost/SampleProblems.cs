using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.SampleHost.Accounts;

namespace QrCalling.SampleHost;

/// <summary>Every error response of the sample is problem details with a stable <c>code</c>: the ones the framework
/// makes without a body (malformed JSON, wrong content type, unknown route, wrong method, a missing bearer token) and
/// unhandled exceptions (a storage outage is 503 <c>storage_unavailable</c>, anything else 500 <c>internal_error</c>).
/// They are written as JSON whatever the request's Accept header says.</summary>
internal static class SampleProblems
{
    /// <summary>The stable code and a short detail for a status the framework set without a body.</summary>
    public static (string Code, string Detail) ForStatus(int status) => status switch
    {
        StatusCodes.Status400BadRequest => ("invalid_request", "The request is not valid (for example, its body is not well-formed JSON)."),
        StatusCodes.Status401Unauthorized => ("unauthorized", "Sign in first: no or bad credentials."),
        StatusCodes.Status403Forbidden => ("forbidden", "Not allowed."),
        StatusCodes.Status404NotFound => ("not_found", "No such resource."),
        StatusCodes.Status405MethodNotAllowed => ("method_not_allowed", "This method is not allowed on this resource."),
        StatusCodes.Status406NotAcceptable => ("not_acceptable", "The requested response type is not available."),
        StatusCodes.Status413PayloadTooLarge => ("too_large", "The request body is too large."),
        StatusCodes.Status415UnsupportedMediaType => ("unsupported_media_type", "The request body must be JSON (Content-Type: application/json)."),
        StatusCodes.Status429TooManyRequests => ("rate_limited", "Too many requests; try again later."),
        StatusCodes.Status503ServiceUnavailable => ("service_unavailable", "The service is unavailable; try again later."),
        >= 500 => ("internal_error", "Something went wrong on the server."),
        _ => ("invalid_request", "The request is not valid."),
    };

    /// <summary>For <c>UseStatusCodePages</c>: a body for an error status that has none yet. A browser asking for a page
    /// (GET or HEAD with <c>Accept: text/html</c>) at an unknown path outside the API gets the human 404 page
    /// (<c>wwwroot/404.html</c>); everything else, and every path under <c>/api</c>, <c>/hubs</c>, <c>/openapi</c> and
    /// <c>/health</c>, gets problem details.</summary>
    public static Task WriteStatusAsync(StatusCodeContext context)
    {
        var status = context.HttpContext.Response.StatusCode;
        if (status == StatusCodes.Status404NotFound && WantsPage(context.HttpContext.Request)
            && context.HttpContext.RequestServices.GetService<IWebHostEnvironment>()?.WebRootFileProvider.GetFileInfo("404.html") is { Exists: true } page)
        {
            context.HttpContext.Response.Headers.CacheControl = "no-store";
            context.HttpContext.Response.ContentType = "text/html; charset=utf-8";
            return context.HttpContext.Response.SendFileAsync(page, context.HttpContext.RequestAborted);
        }
        var (code, detail) = ForStatus(status);
        return WriteAsync(context.HttpContext, status, code, detail);
    }

    private static readonly string[] MachinePaths = ["/api", "/hubs", "/openapi", "/health", "/scalar"];

    /// <summary>True for a browser's page request: GET or HEAD, <c>text/html</c> accepted, outside the machine paths.</summary>
    internal static bool WantsPage(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
        && !MachinePaths.Any(p => request.Path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase))
        && request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase));

    /// <summary>For <c>UseExceptionHandler</c>: the exception's status and code; never its message.</summary>
    public static Task WriteExceptionAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        switch (exception)
        {
            case StorageUnavailableException:
                return WriteAsync(context, StatusCodes.Status503ServiceUnavailable, QrCallingErrorCodes.StorageUnavailable,
                    "The storage backend is unavailable; try again later.");
            case BadHttpRequestException bad:
                var (code, detail) = ForStatus(bad.StatusCode);
                return WriteAsync(context, bad.StatusCode, code, detail);
            default:
                var (internalCode, internalDetail) = ForStatus(StatusCodes.Status500InternalServerError);
                return WriteAsync(context, StatusCodes.Status500InternalServerError, internalCode, internalDetail);
        }
    }

    private static Task WriteAsync(HttpContext context, int status, string code, string detail)
    {
        context.Response.Headers.CacheControl = "no-store";
        // ProblemHttpResult goes through IProblemDetailsService when it can, and otherwise writes the JSON itself.
        return AccountEndpoints.Problem(status, code, detail).ExecuteAsync(context);
    }
}
