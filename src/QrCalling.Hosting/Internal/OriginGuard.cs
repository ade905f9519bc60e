using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Internal;

/// <summary>Refuses hub requests (negotiate, WebSocket upgrade, long polling, server-sent events) that a browser sends
/// from another site. WebSocket upgrades are not subject to CORS, so without this check any web page could open a hub
/// connection with the visitor's cookies or a token it got hold of. A request with an <c>Origin</c> header is let
/// through only when that origin is the request's own (scheme and host), the origin of
/// <see cref="QrCallingOptions.PublicBaseUrl"/>, or one of <see cref="QrCallingHostingOptions.CorsOrigins"/>; requests
/// without one (native apps, servers) are not affected.</summary>
internal sealed class OriginGuard(IOptions<QrCallingHostingOptions> hosting, IOptions<QrCallingOptions> core)
{
    private readonly HashSet<string> _allowed = Allowed(hosting.Value, core.Value);

    private static HashSet<string> Allowed(QrCallingHostingOptions hosting, QrCallingOptions core)
    {
        var allowed = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var origin in hosting.CorsOrigins)
        {
            allowed.Add(origin.TrimEnd('/'));
        }
        if (Uri.TryCreate(core.PublicBaseUrl, UriKind.Absolute, out var publicBase))
        {
            allowed.Add(publicBase.GetLeftPart(UriPartial.Authority));
        }
        return allowed;
    }

    public bool IsAllowed(HttpRequest request)
    {
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0)
        {
            return true;
        }
        return string.Equals(origin, request.Scheme + "://" + request.Host.Value, StringComparison.OrdinalIgnoreCase) || _allowed.Contains(origin);
    }

    /// <summary>Wraps the hub endpoint's request delegate.</summary>
    public static RequestDelegate Wrap(RequestDelegate next) => async context =>
    {
        var guard = context.RequestServices.GetService(typeof(OriginGuard)) as OriginGuard;
        if (guard is not null && !guard.IsAllowed(context.Request))
        {
            await ApiResults.WriteProblemAsync(context, new QrCallingError(QrCallingErrorCodes.OriginNotAllowed,
                "Hub connections from this web origin are not allowed."), context.RequestAborted);
            return;
        }
        await next(context);
    };
}
