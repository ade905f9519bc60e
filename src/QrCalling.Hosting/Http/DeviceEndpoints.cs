using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using QrCalling.Codes;
using QrCalling.Devices;
using QrCalling.Hosting.Hubs;
using QrCalling.Storage;

namespace QrCalling.Hosting.Http;

/// <summary>Devices paired by QR (additive): a signed-in device shows a single-use pairing QR, the new device redeems it
/// for its own id and token, a signed-in device confirms it by the check code both show, and the owner lists, renames and
/// revokes devices (a revoked device's hub connections close at once). Also the owner's client-encrypted backups.</summary>
internal static class DeviceEndpoints
{
    /// <summary>The SignalR event a revoked device's connections get before they are closed.</summary>
    public const string DeviceRevokedEvent = "DeviceRevoked";

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/devices/pairing", CreatePairingAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Start pairing a new device")
            .WithDescription("Owner only. `201 {pairingPayload, expiresAt, link, qrCode}`: a single-use payload (`qpp_` + 43 base64url " +
                "characters) valid about 2 minutes (`QrCalling:PairingLifetime`), the link `<origin>/pair#<payload>` (the secret in the " +
                "fragment, which no browser sends and no link preview can spend: pairing needs a `POST`), and `qrCode`, an SVG data URI of " +
                "that link. The server keeps only a keyed hash of the secret.")
            .Produces<PairingResponse>(StatusCodes.Status201Created).Problems(401, 429);
        api.MapPost("/devices/pair", PairAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Anyone, ExamplePair)
            .Accepts<PairRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.ScanPolicy)
            .WithSummary("Pair this device")
            .WithDescription("No credential but the payload. `201 {deviceId, deviceToken, checkCode, name, createdAt}`; the token is " +
                "shown this once (the server keeps a keyed hash). The device rings for the owner's calls (hub `?access_token=<deviceToken>`) " +
                "once a signed-in device confirmed it with the 6-digit `checkCode` shown on both; until then the hub answers " +
                "`device_pending`. A payload used before, expired or unknown: `404 pairing_unavailable`, the same answer for all three. " +
                "`400 invalid_request` for a name that is not 1 to 64 characters; `403 quota_exceeded` past `MaxDevicesPerOwner` (20).")
            .Produces<PairResponse>(StatusCodes.Status201Created).Problems(400, 403, 404, 413, 415, 429);
        api.MapGet("/devices", ListAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The owner's paired devices")
            .WithDescription("Owner only. `[{deviceId, name, createdAt, lastSeenAt, confirmed, checkCode}]`, oldest first; `checkCode` only " +
                "while the device waits for confirmation. No token or hash.")
            .Produces<IReadOnlyList<DeviceResponse>>().Problems(401, 429);
        api.MapPatch("/devices/{id}", RenameAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner, ExampleRename)
            .Accepts<RenameDeviceRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Rename a device")
            .WithDescription("Owner only. `{name}` (1 to 64 characters, trimmed). 200 with the device. `404 not_found` for an unknown " +
                "device or another owner's.")
            .Produces<DeviceResponse>().Problems(400, 401, 404, 413, 415, 429);
        api.MapPost("/devices/{id}/confirm", ConfirmAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner, ExampleConfirm)
            .Accepts<ConfirmDeviceRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Confirm a newly paired device")
            .WithDescription("Owner only. `{checkCode}`: the 6 digits the new device shows. 200 with the device, which now rings. A code " +
                "that does not match: `400 invalid_request` (revoke the device if it is not yours). `404 not_found` for an unknown device.")
            .Produces<DeviceResponse>().Problems(400, 401, 404, 413, 415, 429);
        api.MapDelete("/devices/{id}", RevokeAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Revoke a device")
            .WithDescription("Owner only. `204`: the device's token stops working at once and its hub connections get `DeviceRevoked` " +
                "and are closed. `404 not_found` for an unknown device or another owner's.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);

        api.MapPut("/backups", UploadBackupAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .Accepts<byte[]>("application/octet-stream").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Upload a backup")
            .WithDescription("Owner only. The body (`Content-Type: application/octet-stream`) is opaque bytes the client encrypted; the " +
                "server never sees a key. `201 {version, size, createdAt, expiresAt}`. Over `QrCalling:MaxBackupBytes` (8 MiB): `413 " +
                "backup_too_large`, nothing stored; another content type: `415 unsupported_media_type`; an empty body or one cut off " +
                "midway: `400 invalid_request`, nothing stored. The latest `BackupVersionsKept` (5) versions are kept, each " +
                "`BackupRetention` (90 days).")
            .Produces<BackupResponse>(StatusCodes.Status201Created).Problems(400, 401, 413, 415, 429);
        api.MapGet("/backups", ListBackupsAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The owner's backup versions")
            .WithDescription("Owner only. `[{version, size, createdAt, expiresAt}]`, newest first: the owner's versions not expired yet, " +
                "without their bytes (download one with `GET /backups/{version}`).")
            .Produces<IReadOnlyList<BackupResponse>>().Problems(401, 429);
        api.MapGet("/backups/latest", (HttpContext http, BackupService backups, ParticipantResolver participants, CancellationToken ct) =>
                DownloadAsync(http, null, backups, participants, ct)).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Download the newest backup")
            .WithDescription("Owner only. The bytes exactly as uploaded (`application/octet-stream`, header `X-QrCalling-Backup-Version`). " +
                "`404 not_found` when the owner has none.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").Problems(401, 404, 429);
        api.MapGet("/backups/{version}", (HttpContext http, string version, BackupService backups, ParticipantResolver participants, CancellationToken ct) =>
                DownloadAsync(http, version, backups, participants, ct)).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Download one backup version")
            .WithDescription("Owner only. As `GET /backups/latest` for one version. `404 not_found` for an unknown, expired or another " +
                "owner's version.")
            .Produces(StatusCodes.Status200OK, contentType: "application/octet-stream").Problems(401, 404, 429);
        api.MapDelete("/backups/{version}", DeleteBackupAsync).Documented(OpenApiDocs.DevicesTag, OperationAccess.Owner)
            .RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Delete one backup version")
            .WithDescription("Owner only. `204`: the version and its bytes are gone at once; the other versions stay. `404 not_found` " +
                "for an unknown version or another owner's.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
    }

    private static JsonNode ExamplePair() => new JsonObject { ["pairingPayload"] = DeviceService.PairingPrefix + new string('A', 43), ["name"] = "Kitchen tablet" };

    private static JsonNode ExampleRename() => new JsonObject { ["name"] = "Kitchen tablet" };

    private static JsonNode ExampleConfirm() => new JsonObject { ["checkCode"] = "123456" };

    private static DeviceResponse ToWire(DeviceRecord d) =>
        new(d.DeviceId, d.Name, d.CreatedAt, d.LastSeenAt, d.Confirmed, d.Confirmed ? null : d.CheckCode);

    private static BackupResponse ToWire(BackupVersion v) => new(v.Version, v.Size, v.CreatedAt, v.ExpiresAt);

    private static async Task<IResult> CreatePairingAsync(HttpContext http, DeviceService devices, ParticipantResolver participants, QrRenderer renderer,
        IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var ticket = await devices.CreatePairingAsync(owner, cancellationToken);
        var origin = options.Value.PublicBaseUrl is { } publicBase && Uri.TryCreate(publicBase, UriKind.Absolute, out var uri)
            ? uri.GetLeftPart(UriPartial.Authority)
            : $"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}";
        var link = origin + "/pair#" + ticket.PairingPayload;
        var svg = renderer.Render(link, QrImageFormat.Svg);
        return ApiResults.Json(new PairingResponse(ticket.PairingPayload, ticket.ExpiresAt, link, "data:image/svg+xml;base64," + Convert.ToBase64String(svg)),
            StatusCodes.Status201Created);
    }

    private static async Task<IResult> PairAsync(HttpContext http, DeviceService devices, CancellationToken cancellationToken)
    {
        var (body, error) = await RequestReader.ReadAsync<PairRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await devices.PairAsync(body!.PairingPayload, body.Name, cancellationToken);
        if (!result.IsSuccess)
        {
            return ApiResults.Problem(result.Error!);
        }
        var paired = result.Value;
        return ApiResults.Json(new PairResponse(paired.Device.DeviceId, paired.DeviceToken, paired.Device.CheckCode, paired.Device.Name, paired.Device.CreatedAt),
            StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(HttpContext http, DeviceService devices, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return ApiResults.Json((await devices.ListAsync(owner, cancellationToken)).Select(ToWire).ToList());
    }

    private static async Task<IResult> RenameAsync(HttpContext http, string id, DeviceService devices, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<RenameDeviceRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await devices.RenameAsync(owner, id, body!.Name, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value)) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> ConfirmAsync(HttpContext http, string id, DeviceService devices, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<ConfirmDeviceRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await devices.ConfirmAsync(owner, id, body!.CheckCode, cancellationToken);
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value)) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> RevokeAsync(HttpContext http, string id, DeviceService devices, ParticipantResolver participants,
        DeviceRevocations revocations, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        if (!await devices.RevokeAsync(owner, id, cancellationToken))
        {
            return ApiResults.Problem(QrCallingError.NotFound);
        }
        // Its connections here and on every other instance (through the Redis backplane, if any) are told DeviceRevoked
        // and closed now; the hub filter also refuses any next invocation (the token is gone).
        await revocations.RevokedAsync(owner, id);
        return Results.NoContent();
    }

    private static async Task<IResult> UploadBackupAsync(HttpContext http, BackupService backups, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var contentType = http.Request.ContentType?.Split(';')[0].Trim();
        if (!string.Equals(contentType, "application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            return ApiResults.Problem(new QrCallingError(QrCallingErrorCodes.UnsupportedMediaType, "The body must be application/octet-stream."));
        }
        QrCallingResult<BackupVersion> result;
        try
        {
            result = await backups.UploadAsync(owner, http.Request.Body, http.Request.ContentLength, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or BadHttpRequestException && !http.RequestAborted.IsCancellationRequested)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("The upload was cut off; nothing was stored."));
        }
        return result.IsSuccess ? ApiResults.Json(ToWire(result.Value), StatusCodes.Status201Created) : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> ListBackupsAsync(HttpContext http, BackupService backups, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return ApiResults.Json((await backups.ListAsync(owner, cancellationToken)).Select(ToWire).ToList());
    }

    private static async Task<IResult> DownloadAsync(HttpContext http, string? version, BackupService backups, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        long? number = null;
        if (version is not null)
        {
            if (!long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return ApiResults.Problem(QrCallingError.NotFound);
            }
            number = parsed;
        }
        if (await backups.GetAsync(owner, number, cancellationToken) is not { } backup)
        {
            return ApiResults.Problem(QrCallingError.NotFound);
        }
        SecurityHeaders.Apply(http.Response);
        http.Response.Headers["X-QrCalling-Backup-Version"] = backup.Version.Version.ToString(CultureInfo.InvariantCulture);
        http.Response.Headers.CacheControl = "no-store";
        return Results.Bytes(backup.Content, "application/octet-stream");
    }

    private static async Task<IResult> DeleteBackupAsync(HttpContext http, string version, BackupService backups, ParticipantResolver participants,
        CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        return long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && await backups.DeleteAsync(owner, number, cancellationToken)
            ? Results.NoContent()
            : ApiResults.Problem(QrCallingError.NotFound);
    }
}

/// <summary><c>POST /devices/pairing</c>'s answer.</summary>
internal sealed record PairingResponse(string PairingPayload, DateTimeOffset ExpiresAt, string Link, string QrCode);

/// <summary><c>POST /devices/pair</c>.</summary>
internal sealed record PairRequest(string? PairingPayload, string? Name);

/// <summary><c>POST /devices/pair</c>'s answer: the token is shown this once.</summary>
internal sealed record PairResponse(string DeviceId, string DeviceToken, string CheckCode, string Name, DateTimeOffset CreatedAt);

/// <summary>A device as its owner sees it (no secret).</summary>
internal sealed record DeviceResponse(string DeviceId, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastSeenAt, bool Confirmed,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? CheckCode);

/// <summary><c>PATCH /devices/{id}</c>.</summary>
internal sealed record RenameDeviceRequest(string? Name);

/// <summary><c>POST /devices/{id}/confirm</c>.</summary>
internal sealed record ConfirmDeviceRequest(string? CheckCode);

/// <summary>A backup version (no bytes).</summary>
internal sealed record BackupResponse(long Version, long Size, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);
