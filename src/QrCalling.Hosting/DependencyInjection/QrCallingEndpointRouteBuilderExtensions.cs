using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling;
using QrCalling.Hosting;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Hubs;
using QrCalling.Hosting.Internal;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps QrCalling's REST routes, hub and health checks.</summary>
public static class QrCallingEndpointRouteBuilderExtensions
{
    private const string MiddlewareAddedKey = "QrCalling.MiddlewareAdded";

    /// <summary>Maps the REST routes under <see cref="QrCallingHostingOptions.RoutePrefix"/>, the hub at
    /// <see cref="QrCallingHostingOptions.HubPath"/>, and <c>/health/live</c> and <c>/health/ready</c>. When called on a
    /// <see cref="WebApplication"/> it also adds the rate limiter (and, with CORS origins configured, the CORS middleware)
    /// to the pipeline at this point; other hosts call <c>UseRateLimiter()</c> (and <c>UseCors()</c>) after routing.</summary>
    /// <param name="endpoints">The application or endpoint route builder.</param>
    /// <returns>The route group of the REST routes, to add conventions (e.g. more metadata).</returns>
    public static RouteGroupBuilder MapQrCalling(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var options = endpoints.ServiceProvider.GetRequiredService<IOptions<QrCallingHostingOptions>>().Value;
        var hasCors = options.CorsOrigins.Count > 0;
        if (endpoints is IApplicationBuilder app && !app.Properties.ContainsKey(MiddlewareAddedKey))
        {
            app.Properties[MiddlewareAddedKey] = true;
            if (hasCors)
            {
                app.UseCors();
            }
            app.UseRateLimiter();
            // Routing answers a body of the wrong content type with a bare 415 before any QrCalling code runs: give it
            // the problem details body every other error has.
            var prefix = new PathString(options.RoutePrefix);
            app.Use(async (context, next) =>
            {
                await next(context);
                if (context.Response.StatusCode == StatusCodes.Status415UnsupportedMediaType && !context.Response.HasStarted
                    && context.Request.Path.StartsWithSegments(prefix))
                {
                    await ApiResults.WriteProblemAsync(context, new QrCallingError(QrCallingErrorCodes.UnsupportedMediaType,
                        "The body must be JSON (Content-Type: application/json)."), context.RequestAborted);
                }
            });
        }

        var api = endpoints.MapGroup(options.RoutePrefix);
        api.AddEndpointFilter(GuardAsync);
        QrCallingEndpoints.Map(api);
        if (endpoints.ServiceProvider.GetService<PushEndpointPolicy>() is not null)
        {
            PushEndpoints.Map(api); // AddWebPush was called
        }
        MessageEndpoints.Map(api);
        CallerControlEndpoints.Map(api);
        DeviceEndpoints.Map(api);
        DelegateEndpoints.Map(api);

        var hub = endpoints.MapHub<CallHub>(options.HubPath);
        hub.Add(b => b.RequestDelegate = OriginGuard.Wrap(b.RequestDelegate!));
        var roomHub = endpoints.MapHub<RoomHub>(options.RoomHubPath);
        roomHub.Add(b => b.RequestDelegate = OriginGuard.Wrap(b.RequestDelegate!));
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        _ = endpoints.ServiceProvider.GetRequiredService<ReadinessReport>(); // uptime counts from here
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains("ready"), ResponseWriter = ReadinessReport.WriteAsync });

        if (options.OwnerAuthenticationSchemes.Count > 0)
        {
            // Authenticates with the owner schemes but lets anonymous callers through: the policy always succeeds.
            var policy = new AuthorizationPolicyBuilder([.. options.OwnerAuthenticationSchemes]).RequireAssertion(_ => true).Build();
            api.RequireAuthorization(policy);
            hub.RequireAuthorization(policy);
            roomHub.RequireAuthorization(policy);
        }
        if (hasCors)
        {
            api.RequireCors(QrCallingHostingServiceCollectionExtensions.CorsPolicyName);
            hub.RequireCors(QrCallingHostingServiceCollectionExtensions.CorsPolicyName);
            roomHub.RequireCors(QrCallingHostingServiceCollectionExtensions.CorsPolicyName);
        }
        return api;
    }

    /// <summary>Security headers on every API response, storage outages as 503 problem details, and any other failure
    /// (except a cancellation of an aborted request) as a logged 500 <c>internal_error</c> that tells the client nothing
    /// about the cause. The log holds the endpoint and the exception type only: an exception's message could hold a
    /// token or a driver's copy of the request's data.</summary>
    private static async ValueTask<object?> GuardAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        SecurityHeaders.Apply(http.Response);
        try
        {
            return await next(context);
        }
        catch (StorageUnavailableException ex)
        {
            Log.StorageUnavailable(LoggerOf(http), ex);
            return ApiResults.Problem(QrCallingErrorCodes.StorageUnavailable, "The storage backend is unavailable; try again later.");
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && http.RequestAborted.IsCancellationRequested))
        {
            Log.RequestFailed(LoggerOf(http), http.GetEndpoint()?.DisplayName ?? "QrCalling", ex.GetType().Name);
            return ApiResults.Problem(ApiResults.InternalError, "The server could not complete the request.");
        }
    }

    private static ILogger LoggerOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("QrCalling.Hosting");
}
