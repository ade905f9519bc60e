using Microsoft.AspNetCore.OpenApi;
using QrCalling.Hosting;
using QrCalling.Hosting.Http;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>QrCalling's part of a host's OpenAPI document (Microsoft.AspNetCore.OpenApi). The routes always carry their
/// summaries, descriptions and tags; these transformers add what only a document can hold: the bearer schemes (the
/// owner's and the caller's call token) applied to the operations that need them, the hub's description, request
/// examples the server accepts, and schemas that match the server (optional request fields not required, integers as
/// integers, enums of the wire names).</summary>
public static class QrCallingOpenApiExtensions
{
    /// <summary>The name of the owner's bearer scheme in <c>components.securitySchemes</c>.</summary>
    public const string OwnerSecurityScheme = "owner";

    /// <summary>The name of the caller's call-token bearer scheme (<c>qct_…</c>) in <c>components.securitySchemes</c>.</summary>
    public const string CallTokenSecurityScheme = "callToken";

    /// <summary>Adds QrCalling's document, operation and schema transformers to one OpenAPI document, for a host that
    /// configures its documents itself: <c>services.AddOpenApi(o => o.AddQrCallingTransformers())</c>. A host route that
    /// requires authorization (and does not allow anonymous access) is marked with the owner scheme too.</summary>
    /// <param name="options">The document's options.</param>
    /// <param name="configure">Sets the link to the protocol and the owner scheme's details.</param>
    /// <returns>The same options.</returns>
    public static OpenApiOptions AddQrCallingTransformers(this OpenApiOptions options, Action<QrCallingOpenApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = new QrCallingOpenApiOptions();
        configure?.Invoke(settings);
        var transformer = new QrCallingOpenApiTransformer(settings);
        options.AddDocumentTransformer(transformer);
        options.AddOperationTransformer(transformer);
        options.AddSchemaTransformer(transformer);
        return options;
    }

    /// <summary>Registers the OpenAPI document <paramref name="documentName"/> (<c>AddOpenApi</c>) with QrCalling's
    /// transformers. Serve it with <c>app.MapOpenApi()</c>.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="documentName">The document's name (<c>/openapi/{documentName}.json</c>).</param>
    /// <param name="configure">Sets the link to the protocol and the owner scheme's details.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddQrCallingOpenApi(this IServiceCollection services, string documentName = "v1",
        Action<QrCallingOpenApiOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(documentName);
        return services.AddOpenApi(documentName, o => o.AddQrCallingTransformers(configure));
    }
}
