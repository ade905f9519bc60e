using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>The OpenAPI document of QrCalling's routes with <c>AddQrCallingOpenApi</c> (issue 11): every operation
/// described, the bearer schemes applied, optional fields optional, enums listed, the hub described, and every request
/// example accepted by the server.</summary>
public sealed class OpenApiTests
{
    private static readonly string[] OwnerOperations =
    [
        "post /api/v1/codes", "get /api/v1/codes", "post /api/v1/codes/{id}/revoke", "post /api/v1/codes/{id}/rotate", "post /api/v1/qr",
        "post /api/v1/devices", "get /api/v1/calls", "patch /api/v1/codes/{id}", "delete /api/v1/codes/{id}", "post /api/v1/push/subscriptions",
        "delete /api/v1/push/subscriptions",
    ];

    private static readonly string[] ParticipantOperations =
    [
        "get /api/v1/calls/{callId}", "get /api/v1/calls/{callId}/events", "post /api/v1/calls/{callId}/events",
        "post /api/v1/calls/{callId}/events/ack", "get /api/v1/ice-servers", "post /api/v1/hub-tickets",
    ];

    private static readonly string[] AnonymousOperations = ["post /api/v1/scan", "post /api/v1/calls", "get /api/v1/push/public-key",
        "post /api/v1/verify-qr", "get /api/v1/verify-qr/keys"];

    private static async Task<(TestHost Host, JsonElement Document)> StartAsync(Action<QrCallingOpenApiOptions>? configure = null)
    {
        var host = await TestHost.StartAsync(configure: b =>
        {
            b.Services.AddQrCalling().AddWebPush(); // its routes are documented too
            b.Services.AddQrCallingOpenApi(configure: configure);
        });
        var text = await host.Client().GetStringAsync("/openapi/v1.json");
        return (host, JsonDocument.Parse(text).RootElement);
    }

    private static IEnumerable<(string Key, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject().SelectMany(path =>
            path.Value.EnumerateObject().Select(op => ($"{op.Name} {path.Name}", op.Value)));

    private static JsonElement Operation(JsonElement document, string key) => Operations(document).Single(o => o.Key == key).Operation;

    private static JsonElement Schema(JsonElement document, string name) => document.GetProperty("components").GetProperty("schemas").GetProperty(name);

    private static string[] Required(JsonElement schema) =>
        schema.TryGetProperty("required", out var required) ? [.. required.EnumerateArray().Select(r => r.GetString()!)] : [];

    private static string[] EnumOf(JsonElement schema) => [.. schema.GetProperty("enum").EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Null ? "null" : v.GetString()!)];

    private static string[] TypesOf(JsonElement schema) =>
        schema.GetProperty("type") is { ValueKind: JsonValueKind.Array } types ? [.. types.EnumerateArray().Select(t => t.GetString()!)] : [schema.GetProperty("type").GetString()!];

    [Fact]
    public async Task Document_EveryOperation_HasSummaryDescriptionAndOneTag()
    {
        var (host, document) = await StartAsync();
        await using var hostScope = host;

        var operations = Operations(document).ToList();
        Assert.Superset(new HashSet<string>([.. OwnerOperations, .. ParticipantOperations, .. AnonymousOperations]), operations.Select(o => o.Key).ToHashSet());
        Assert.All(operations, o =>
        {
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("summary").GetString()), o.Key + " has no summary");
            Assert.True(o.Operation.GetProperty("description").GetString()!.Length >= 80, o.Key + " has no real description");
            Assert.Single(o.Operation.GetProperty("tags").EnumerateArray());
        });
        var tags = document.GetProperty("tags").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t);
        Assert.All(operations, o => Assert.True(tags[o.Operation.GetProperty("tags")[0].GetString()!].TryGetProperty("description", out _)));
    }

    [Fact]
    public async Task Document_BearerSchemes_ExistAndApplyToOwnerAndParticipantRoutesOnly()
    {
        var (host, document) = await StartAsync();
        await using var hostScope = host;

        var schemes = document.GetProperty("components").GetProperty("securitySchemes");
        foreach (var name in new[] { QrCallingOpenApiExtensions.OwnerSecurityScheme, QrCallingOpenApiExtensions.CallTokenSecurityScheme })
        {
            Assert.Equal("http", schemes.GetProperty(name).GetProperty("type").GetString());
            Assert.Equal("bearer", schemes.GetProperty(name).GetProperty("scheme").GetString());
        }
        Assert.Equal("qct_", schemes.GetProperty("callToken").GetProperty("bearerFormat").GetString());

        string[] SchemesOf(string key) => Operation(document, key).TryGetProperty("security", out var security)
            ? [.. security.EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).Order()]
            : [];
        Assert.All(OwnerOperations, key => Assert.Equal(["owner"], SchemesOf(key)));
        Assert.All(ParticipantOperations, key => Assert.Equal(["callToken", "owner"], SchemesOf(key)));
        Assert.All(AnonymousOperations, key => Assert.Empty(SchemesOf(key)));
    }

    [Fact]
    public async Task Document_Schemas_OptionalRequestFieldsNotRequiredAndNullableResponseFields()
    {
        var (host, document) = await StartAsync();
        await using var hostScope = host;

        Assert.Empty(Required(Schema(document, "CreateCodeRequest")));
        Assert.Equal(["format", "payload"], Required(Schema(document, "QrRequest")).Order());
        Assert.Equal(["media", "payload"], Required(Schema(document, "StartCallRequest")).Order());
        Assert.Equal(["data", "type"], Required(Schema(document, "PostEventRequest")).Order());
        Assert.Equal(["seq"], Required(Schema(document, "AckRequest")));
        // Required request members are not nullable; integers are integers (not "integer or string").
        Assert.Equal(["string"], TypesOf(Schema(document, "StartCallRequest").GetProperty("properties").GetProperty("payload")));
        Assert.Equal(["integer"], TypesOf(Schema(document, "AckRequest").GetProperty("properties").GetProperty("seq")));
        Assert.Equal(["null", "integer"], TypesOf(Schema(document, "CreateCodeRequest").GetProperty("properties").GetProperty("maxScans")));
        // Response members that may be null say so.
        var created = Schema(document, "CodeCreatedResponse").GetProperty("properties");
        Assert.Contains("null", TypesOf(created.GetProperty("expiresAt")));
        Assert.Contains("null", TypesOf(created.GetProperty("maxScans")));
        Assert.DoesNotContain("null", TypesOf(created.GetProperty("payload")));
        var status = Schema(document, "CallStatusResponse").GetProperty("properties");
        Assert.Contains("null", TypesOf(status.GetProperty("endReason")));
        Assert.Contains("null", TypesOf(status.GetProperty("answeredAt")));
        Assert.DoesNotContain("username", Required(Schema(document, "IceServer")));
    }

    [Fact]
    public async Task Document_Enums_ListTheWireNames()
    {
        var (host, document) = await StartAsync();
        await using var hostScope = host;

        string[] media = ["audio", "video", "chat"];
        Assert.Equal(media, EnumOf(Schema(document, "StartCallRequest").GetProperty("properties").GetProperty("media")));
        Assert.Equal(media, EnumOf(Schema(document, "CreateCodeRequest").GetProperty("properties").GetProperty("media").GetProperty("items")));
        Assert.Equal(media, EnumOf(Schema(document, "CodeListItem").GetProperty("properties").GetProperty("media").GetProperty("items")));
        Assert.Equal(["active", "paused", "revoked", "expired", "used_up"], EnumOf(Schema(document, "CodeListItem").GetProperty("properties").GetProperty("state")));
        var status = Schema(document, "CallStatusResponse").GetProperty("properties");
        Assert.Equal(["ringing", "active", "ended"], EnumOf(status.GetProperty("state")));
        Assert.Equal(["rejected", "canceled", "missed", "hangup", "timeout", "dropped", "revoked", "null"], EnumOf(status.GetProperty("endReason")));
        Assert.Equal(["offer", "answer", "ice-candidate", "key-exchange", "renegotiate", "file", "chat", "call-accepted", "call-ended"],
            EnumOf(Schema(document, "MailboxEvent").GetProperty("properties").GetProperty("type")));
        Assert.Equal(["offer", "answer", "ice-candidate", "key-exchange", "renegotiate", "file", "chat"],
            EnumOf(Schema(document, "PostEventRequest").GetProperty("properties").GetProperty("type")));
        Assert.Equal(["png", "svg"], EnumOf(Schema(document, "QrRequest").GetProperty("properties").GetProperty("format")));
    }

    [Fact]
    public async Task Document_Hub_IsDescribedWithItsMethodsAndEventsAndLinksToTheProtocol()
    {
        var (host, document) = await StartAsync(o => o.ProtocolUrl = new Uri("https://docs.example.org/protocol.md"));
        await using var hostScope = host;

        var description = document.GetProperty("info").GetProperty("description").GetString()!;
        foreach (var name in new[] { "Accept(callId)", "Reject(callId)", "Hangup(callId)", "Signal(callId, type, data)", "Typing(callId, isTyping)",
                     "Chat(callId, ciphertext)", "Resume(callId, afterSeq)", "Ack(callId, seq)", "IncomingCall", "CallAccepted", "CallAnsweredElsewhere",
                     "CallEnded", "PeerLeft", "PeerJoined", "/hubs/calls", "POST /hub-tickets" })
        {
            Assert.Contains(name, description, StringComparison.Ordinal);
        }
        var hub = document.GetProperty("tags").EnumerateArray().Single(t => t.GetProperty("name").GetString() == "Hub (SignalR)");
        Assert.Contains("Resume(callId, afterSeq)", hub.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("https://docs.example.org/protocol.md#3-hub-signalr-default-path-hubscalls",
            hub.GetProperty("externalDocs").GetProperty("url").GetString());
    }

    [Fact]
    public async Task Examples_PostedToTheServer_AreAcceptedNotRejectedAsMalformed()
    {
        var (host, document) = await StartAsync();
        await using var hostScope = host;
        var owner = host.Client(owner: "alice");
        // A real call, so the examples of the call's own routes reach the handler's body checks.
        var code = await owner.IssueCodeAsync(new { label = "Examples", media = new[] { "audio", "chat" } });
        var call = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!, "audio");
        var caller = host.Client(bearer: call.GetProperty("callToken").GetString());

        var posted = new List<string>();
        foreach (var (key, operation) in Operations(document))
        {
            if (!operation.TryGetProperty("requestBody", out var body) || !body.GetProperty("content").TryGetProperty("application/json", out var json)
                || !json.TryGetProperty("example", out var example))
            {
                continue;
            }
            var path = key.Split(' ')[1].Replace("{callId}", call.GetProperty("callId").GetString(), StringComparison.Ordinal)
                .Replace("{id}", code.GetProperty("id").GetString(), StringComparison.Ordinal);
            var client = path.Contains("/calls/", StringComparison.Ordinal) ? caller : owner;
            using var request = new HttpRequestMessage(new HttpMethod(key.Split(' ')[0].ToUpperInvariant()), path)
            {
                Content = new StringContent(example.GetRawText(), Encoding.UTF8, "application/json"),
            };
            using var response = await client.SendAsync(request);
            var text = response.Content.Headers.ContentType?.MediaType == "application/problem+json" ? await response.Content.ReadAsStringAsync() : "";
            posted.Add($"{key}: {(int)response.StatusCode} {text}");
            Assert.True(response.StatusCode is not (HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType or HttpStatusCode.UnprocessableEntity
                or HttpStatusCode.RequestEntityTooLarge), $"{key}: the example was refused: {(int)response.StatusCode} {text}");
            Assert.DoesNotContain("\"code\":\"malformed\"", text, StringComparison.Ordinal);
        }
        // Every operation with a JSON body has one (PUT /backups takes raw bytes).
        var withBody = Operations(document).Where(o => o.Operation.TryGetProperty("requestBody", out var b) && b.GetProperty("content").TryGetProperty("application/json", out _))
            .Select(o => o.Key).Order(StringComparer.Ordinal);
        Assert.Equal(withBody, posted.Select(p => p[..p.IndexOf(':', StringComparison.Ordinal)]).Order(StringComparer.Ordinal));
        Assert.Superset(new HashSet<string>(["post /api/v1/calls", "post /api/v1/calls/{callId}/events", "post /api/v1/calls/{callId}/events/ack",
            "post /api/v1/codes", "post /api/v1/qr", "post /api/v1/scan", "patch /api/v1/codes/{id}", "post /api/v1/push/subscriptions",
            "delete /api/v1/push/subscriptions", "post /api/v1/verify-qr"]), withBody.ToHashSet());
        // The code and the QR are made; the example payload is well-formed and names no code.
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/codes: 201", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/qr: 200", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/scan: 404", StringComparison.Ordinal) && p.Contains("unavailable", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/calls/{callId}/events: 202", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/calls/{callId}/events/ack: 204", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("patch /api/v1/codes/{id}: 200", StringComparison.Ordinal));
        Assert.Contains(posted, p => p.StartsWith("post /api/v1/push/subscriptions: 201", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Document_WithoutTheTransformers_StillDescribesEveryOperation()
    {
        await using var host = await TestHost.StartAsync();
        var document = JsonDocument.Parse(await host.Client().GetStringAsync("/openapi/v1.json")).RootElement;

        Assert.All(Operations(document), o =>
        {
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("summary").GetString()), o.Key);
            Assert.False(string.IsNullOrWhiteSpace(o.Operation.GetProperty("description").GetString()), o.Key);
        });
    }
}
