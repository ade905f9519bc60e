namespace QrCalling.Hosting;

/// <summary>Settings of QrCalling's OpenAPI transformers (<c>AddQrCallingOpenApi</c>, <c>AddQrCallingTransformers</c>).</summary>
public sealed class QrCallingOpenApiOptions
{
    /// <summary>Where readers find the wire contract (docs/protocol.md, or the host's copy of it); the hub's tag links to
    /// its hub section (<c>#3-hub-signalr-default-path-hubscalls</c> is appended when the URL has no fragment). Null: the
    /// tag names the document without a link.</summary>
    public Uri? ProtocolUrl { get; set; }

    /// <summary>The <c>bearerFormat</c> of the owner scheme: the host's own owner tokens (default <c>JWT</c>).</summary>
    public string OwnerBearerFormat { get; set; } = "JWT";

    /// <summary>The owner scheme's description.</summary>
    public string OwnerSchemeDescription { get; set; } =
        "The host's own authentication of owners (for example a JWT it issued): owner endpoints and, for participant " +
        "endpoints, the owner of the call.";
}
