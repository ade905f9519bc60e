using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

/// <summary>Completes the OpenAPI document for QrCalling's routes (see <c>AddQrCallingTransformers</c>): the two bearer
/// schemes and who needs which, the tags with their descriptions, the hub's description, request examples, and schemas
/// that say what the server really does (optional request fields not required, integers as integers, wire-name enums).</summary>
internal sealed class QrCallingOpenApiTransformer(QrCallingOpenApiOptions options)
    : IOpenApiDocumentTransformer, IOpenApiOperationTransformer, IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        EnsureSchemes(document);
        document.Info ??= new OpenApiInfo();
        var hub = "## The hub\n\n" + OpenApiDocs.HubMarkdown;
        if (string.IsNullOrWhiteSpace(document.Info.Description))
        {
            document.Info.Description = OpenApiDocs.IntroMarkdown + "\n" + hub;
        }
        else if (!document.Info.Description.Contains(OpenApiDocs.HubMarkdown, StringComparison.Ordinal))
        {
            document.Info.Description += "\n\n" + hub;
        }
        document.Tags ??= new HashSet<OpenApiTag>();
        foreach (var (name, description) in OpenApiDocs.Tags)
        {
            if (document.Tags.FirstOrDefault(t => t.Name == name) is not { } tag)
            {
                tag = new OpenApiTag { Name = name };
                document.Tags.Add(tag);
            }
            tag.Description = description;
            if (name == OpenApiDocs.HubTag && options.ProtocolUrl is { } protocol)
            {
                tag.ExternalDocs = new OpenApiExternalDocs
                {
                    Description = "The wire contract: docs/protocol.md, section 3 (Hub)",
                    Url = protocol.Fragment.Length > 0 ? protocol : new Uri(protocol + OpenApiDocs.ProtocolHubSection),
                };
            }
        }
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var doc = metadata.OfType<OperationDoc>().LastOrDefault();
        OperationAccess access;
        if (doc is not null)
        {
            access = doc.Access;
        }
        else if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
        {
            access = OperationAccess.Owner; // a host's own route that requires its authentication (e.g. sign-out)
        }
        else
        {
            return Task.CompletedTask;
        }
        if (access != OperationAccess.Anyone && context.Document is { } document)
        {
            EnsureSchemes(document);
            var requirements = new List<OpenApiSecurityRequirement>();
            if (access == OperationAccess.Participant)
            {
                requirements.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(QrCallingOpenApiExtensions.CallTokenSecurityScheme, document)] = [] });
            }
            requirements.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(QrCallingOpenApiExtensions.OwnerSecurityScheme, document)] = [] });
            operation.Security = requirements;
        }
        if (doc?.Example is { } example && operation.RequestBody?.Content is { } content)
        {
            foreach (var (type, media) in content)
            {
                if (type.Contains("json", StringComparison.OrdinalIgnoreCase) && media is OpenApiMediaType concrete)
                {
                    concrete.Example = example();
                }
            }
        }
        return Task.CompletedTask;
    }

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (context.JsonPropertyInfo is not null || type.Assembly != typeof(QrCallingOpenApiTransformer).Assembly || schema.Properties is not { } properties)
        {
            return Task.CompletedTask;
        }
        foreach (var (_, property) in properties)
        {
            if (property is OpenApiSchema { Type: { } kind } concrete && (kind & JsonSchemaType.Integer) != 0)
            {
                // Written as JSON numbers; reading also takes numeric strings (the web defaults), which is no part of the contract.
                concrete.Type = kind & ~JsonSchemaType.String;
                concrete.Pattern = null;
            }
        }
        if (RequiredMembers.TryGetValue(type, out var required))
        {
            schema.Required = new HashSet<string>(required, StringComparer.Ordinal);
            foreach (var name in required)
            {
                if (properties.TryGetValue(name, out var property) && property is OpenApiSchema { Type: { } kind } concrete)
                {
                    concrete.Type = kind & ~JsonSchemaType.Null;
                }
            }
        }
        foreach (var (name, values) in EnumsOf(type))
        {
            if (!properties.TryGetValue(name, out var property) || property is not OpenApiSchema concrete)
            {
                continue;
            }
            var target = concrete.Type is { } kind && (kind & JsonSchemaType.Array) != 0 ? concrete.Items as OpenApiSchema : concrete;
            if (target is null)
            {
                continue;
            }
            var list = new List<JsonNode>(values.Select(v => (JsonNode)JsonValue.Create(v)));
            if (target.Type is { } targetKind && (targetKind & JsonSchemaType.Null) != 0)
            {
                list.Add(null!); // a nullable member (endReason, form): null is one of its values
            }
            target.Enum = list;
        }
        return Task.CompletedTask;
    }

    private void EnsureSchemes(OpenApiDocument document)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes.TryAdd(QrCallingOpenApiExtensions.OwnerSecurityScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = options.OwnerBearerFormat,
            Description = options.OwnerSchemeDescription,
        });
        document.Components.SecuritySchemes.TryAdd(QrCallingOpenApiExtensions.CallTokenSecurityScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "qct_",
            Description = "A caller's call token from `POST /calls` (`qct_` + 43 base64url characters): admits to that one call " +
                "only, until it ends. REST takes it from `Authorization: Bearer` only.",
        });
    }

    /// <summary>The members a request must have; every other member of these types is optional (null or absent).</summary>
    private static readonly Dictionary<Type, string[]> RequiredMembers = new()
    {
        [typeof(CreateCodeRequest)] = [],
        [typeof(QrRequest)] = ["payload", "format"],
        [typeof(PayloadRequest)] = ["payload"],
        [typeof(StartCallRequest)] = ["payload", "media"],
        [typeof(ProofOfWorkSolution)] = ["challenge", "solution"],
        [typeof(PostEventRequest)] = ["type", "data"],
        [typeof(AckRequest)] = ["seq"],
        [typeof(UpdateCodeRequest)] = [],
        [typeof(PushSubscriptionRequest)] = ["endpoint", "keys"],
        [typeof(PushSubscriptionKeys)] = ["p256dh", "auth"],
        [typeof(PushUnsubscribeRequest)] = ["endpoint"],
        [typeof(MessageKeyRequest)] = ["publicKey"],
        [typeof(LeaveMessageRequest)] = ["ephemeralPublicKey", "iv", "ciphertext"],
        [typeof(AvailabilityRequest)] = [],
        [typeof(QuietHoursDto)] = ["start", "end", "timeZone"],
    };

    private static IEnumerable<(string Property, string[] Values)> EnumsOf(Type type)
    {
        if (type == typeof(CreateCodeRequest) || type == typeof(CodeCreatedResponse) || type == typeof(CodeListItem)
            || type == typeof(ScanResponse) || type == typeof(StartCallRequest) || type == typeof(UpdateCodeRequest))
        {
            yield return ("media", OpenApiDocs.Enums.Media);
            if (type == typeof(CodeListItem))
            {
                yield return ("state", OpenApiDocs.Enums.CodeStates);
            }
        }
        else if (type == typeof(CallHistoryItem) || type == typeof(CallStatusResponse))
        {
            yield return ("media", OpenApiDocs.Enums.Media);
            yield return ("state", OpenApiDocs.Enums.CallStates);
            yield return ("endReason", OpenApiDocs.Enums.EndReasons);
        }
        else if (type == typeof(MailboxEvent))
        {
            yield return ("type", OpenApiDocs.Enums.MailboxTypes);
        }
        else if (type == typeof(PostEventRequest))
        {
            yield return ("type", OpenApiDocs.Enums.PostEventTypes);
        }
        else if (type == typeof(QrRequest))
        {
            yield return ("format", OpenApiDocs.Enums.QrFormats);
            yield return ("form", OpenApiDocs.Enums.QrForms);
        }
    }
}
