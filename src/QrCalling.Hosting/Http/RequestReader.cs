using System.Buffers;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using QrCalling.Calls;
using QrCalling.Hosting.Internal;

namespace QrCalling.Hosting.Http;

/// <summary>Reads JSON bodies with a size cap, turning every malformed body into a typed error.</summary>
internal static class RequestReader
{
    /// <summary>Cap for small bodies (codes, scans, calls, QR).</summary>
    public const int SmallBodyBytes = 16 * 1024;

    public static async ValueTask<(T? Value, QrCallingError? Error)> ReadAsync<T>(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
        where T : class
    {
        if (!request.HasJsonContentType())
        {
            // Only JSON: a form or text/plain body (what a cross-site form or a "simple" CORS request can send) is refused.
            return (null, new QrCallingError(QrCallingErrorCodes.UnsupportedMediaType, "The body must be JSON (Content-Type: application/json)."));
        }
        if (request.ContentLength > maxBytes)
        {
            return (null, QrCallingError.TooLarge($"The request body exceeds {maxBytes} bytes."));
        }
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(maxBytes + 1, 64 * 1024));
        try
        {
            using var body = new MemoryStream();
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (body.Length + read > maxBytes)
                {
                    return (null, QrCallingError.TooLarge($"The request body exceeds {maxBytes} bytes."));
                }
                body.Write(buffer, 0, read);
            }
            if (body.Length == 0)
            {
                return (null, QrCallingError.InvalidRequest("A JSON body is required."));
            }
            try
            {
                var value = JsonSerializer.Deserialize<T>(body.GetBuffer().AsSpan(0, (int)body.Length), QrCallingJson.Options);
                return value is null ? (null, QrCallingError.InvalidRequest("A JSON object is required.")) : (value, null);
            }
            catch (JsonException)
            {
                return (null, QrCallingError.InvalidRequest("The body is not valid JSON of the expected shape."));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Who is asking: an owner (the host's authenticated user) or a caller (a <c>qct_</c> call token as
/// <c>Authorization: Bearer</c>; on the hub also as <c>?access_token=</c>).</summary>
internal sealed class ParticipantResolver(CallerAuthenticator callers, DeviceCredentials devices, QrCalling.Devices.DeviceService pairedDevices,
    IOptions<QrCallingHostingOptions> options)
{
    /// <summary>Query parameter naming an owner's device (hub and REST mailbox).</summary>
    public const string DeviceIdQuery = "deviceId";
    /// <summary>Longest accepted device id.</summary>
    public const int MaxDeviceIdLength = 128;

    /// <summary>The owner's id from the host's authentication, or null.</summary>
    public string? OwnerId(ClaimsPrincipal? user)
    {
        if (user is null)
        {
            return null;
        }
        foreach (var identity in user.Identities)
        {
            if (identity.IsAuthenticated && identity.FindFirst(options.Value.OwnerClaimType)?.Value is { Length: > 0 } id)
            {
                return id;
            }
        }
        return null;
    }

    /// <summary>The call token of a request, if it carries one: a bearer that starts with <c>qct_</c>, or with
    /// <paramref name="allowQuery"/> (the hub only, whose WebSocket and EventSource transports cannot send headers) an
    /// <c>?access_token=</c> that does. REST takes the header only, so tokens stay out of URLs, logs and proxies.</summary>
    public static string? CallTokenOf(HttpRequest request, bool allowQuery)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var bearer = authorization["Bearer ".Length..].Trim();
            if (bearer.StartsWith(CallService.CallTokenPrefix, StringComparison.Ordinal))
            {
                return bearer;
            }
        }
        if (!allowQuery)
        {
            return null;
        }
        var query = request.Query["access_token"].ToString();
        return query.StartsWith(CallService.CallTokenPrefix, StringComparison.Ordinal) ? query : null;
    }

    /// <summary>The bearer of a hub request: <c>Authorization: Bearer</c>, or <c>?access_token=</c> (WebSockets and
    /// server-sent events cannot send headers).</summary>
    public static string? AccessTokenOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }
        var query = request.Query["access_token"].ToString();
        return query.Length > 0 ? query : null;
    }

    /// <summary>Query parameter (hub) or header (REST) with a server-issued device's credential.</summary>
    public const string DeviceCredentialQuery = "deviceCredential";
    public const string DeviceCredentialHeader = "X-QrCalling-Device-Credential";

    /// <summary>The owner's device id from <c>?deviceId=</c>, or null when absent. An id with the server-issued prefix
    /// (<see cref="DeviceCredentials.BoundPrefix"/>) needs its credential (<c>?deviceCredential=</c> or the
    /// <c>X-QrCalling-Device-Credential</c> header); an invalid id or a wrong credential is an error.</summary>
    public (string? DeviceId, QrCallingError? Error) DeviceIdOf(HttpRequest request, string ownerId)
    {
        var value = request.Query[DeviceIdQuery].ToString();
        if (value.Length == 0)
        {
            return (null, null);
        }
        if (value.Length > MaxDeviceIdLength || !value.All(c => c > ' ' && c < 127))
        {
            return (null, QrCallingError.InvalidRequest("deviceId is invalid."));
        }
        if (value.StartsWith(DeviceCredentials.BoundPrefix, StringComparison.Ordinal))
        {
            var credential = request.Headers[DeviceCredentialHeader].ToString() is { Length: > 0 } header ? header : request.Query[DeviceCredentialQuery].ToString();
            if (!devices.Verify(ownerId, value, credential))
            {
                return (null, Unauthorized("This device id was issued with a credential; present it (deviceCredential)."));
            }
        }
        return (value, null);
    }

    /// <summary>Resolves the participant of a REST request: call token first, else the owner (device from
    /// <c>?deviceId=</c>, default <c>rest</c>).</summary>
    public async ValueTask<(CallActor? Actor, QrCallingError? Error)> ResolveAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var token = CallTokenOf(context.Request, allowQuery: false);
        if (token is not null)
        {
            return await callers.AuthenticateAsync(token, context, cancellationToken);
        }
        // A device paired by QR presents its device token as the bearer: it acts as that device of its owner.
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer " + QrCalling.Devices.DeviceService.TokenPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var device = await pairedDevices.FindByTokenAsync(authorization["Bearer ".Length..].Trim(), cancellationToken);
            return device switch
            {
                null => (null, Unauthorized("The device token is unknown or was revoked.")),
                { Confirmed: false } => (null, new QrCallingError(QrCallingErrorCodes.DevicePending, "This device is not confirmed yet.")),
                _ => (CallActor.OwnerDevice(device.OwnerId, device.DeviceId), null),
            };
        }
        var owner = OwnerId(context.User);
        if (owner is null)
        {
            return (null, Unauthorized("Authenticate as the owner or present the call token as a bearer."));
        }
        var (deviceId, error) = DeviceIdOf(context.Request, owner);
        return error is null ? (CallActor.OwnerDevice(owner, deviceId ?? "rest"), null) : (null, error);
    }

    public static QrCallingError Unauthorized(string detail) => new(QrCallingErrorCodes.Unauthorized, detail);
}
