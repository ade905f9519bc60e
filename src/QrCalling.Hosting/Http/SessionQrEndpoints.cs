using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QrCalling.Codes;

namespace QrCalling.Hosting.Http;

/// <summary><c>POST /verify-qr</c> and <c>GET /verify-qr/keys</c>: signed session QR (docs/protocol.md, "Signed session QR
/// (additive)").</summary>
internal static class SessionQrEndpoints
{
    /// <summary>How long clients may cache the key list (<c>Cache-Control: public, max-age</c>).</summary>
    public const int KeysMaxAgeSeconds = 3600;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/verify-qr", Verify)
            .WithSummary("Verify a signed session QR")
            .WithDescription(
                "Checks a signed session QR (`PQS:1:<kind>:<keyId>:<expiry>:<subject>:<signature>`, or its link form " +
                "`<base>#<payload>`) against this host's keys: `200 {valid: true, expiresAt, keyId, kind}` when this host signed it " +
                "and it has not expired; `200 {valid: false}` for anything else (tampered, expired, signed by another host or by a " +
                "key no longer trusted, or not a signed session QR at all). It does not say whether the room or code still exists: " +
                "it is the same check a client makes offline with the keys of `GET /verify-qr/keys`. A body that is not " +
                "`{\"payload\": \"…\"}` is `400 invalid_request`. Anyone; rate limited like `/scan`.")
            .Documented(OpenApiDocs.CodesTag, OperationAccess.Anyone, () => new System.Text.Json.Nodes.JsonObject { ["payload"] = ExampleSignedPayload })
            .Accepts<PayloadRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.ScanPolicy)
            .Produces<VerifyQrResponse>().Problems(400, 413, 415, 429);
        api.MapGet("/verify-qr/keys", Keys)
            .WithSummary("Public keys of signed session QR")
            .WithDescription(
                "The ECDSA P-256 public keys that verify this host's signed session QR, the current signing key first, then older " +
                "keys still trusted: `{keys: [{kid, alg: \"ES256\", spki}]}` with `spki` the SubjectPublicKeyInfo in base64url. " +
                "A client keeps them to verify offline (`SessionQrVerifier.Verify` in QrCalling.Core); it may cache them for an " +
                "hour (`Cache-Control`), and fetches again when it meets an unknown `kid`. Anyone; rate limited like `/scan`.")
            .Documented(OpenApiDocs.CodesTag, OperationAccess.Anyone)
            .RequireRateLimiting(QrCallingEndpoints.ScanPolicy)
            .Produces<VerifyQrKeysResponse>().Problems(429);
    }

    /// <summary>A well-formed signed payload signed by no host's key: the example answers <c>{valid: false}</c>.</summary>
    private static string ExampleSignedPayload { get; } =
        "PQS:1:MEET:AAAAAAAA:1893456000:" + new string('A', CodePayload.TokenChars) + ":" + new string('A', SessionQrPayload.SignatureChars);

    private static async Task<IResult> Verify(HttpContext http, ISessionQrSigner signer, CancellationToken cancellationToken)
    {
        var (body, error) = await RequestReader.ReadAsync<PayloadRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        if (body!.Payload is null)
        {
            return ApiResults.Problem(QrCallingError.InvalidRequest("payload is required."));
        }
        var result = signer.Verify(body.Payload);
        return ApiResults.Json(result.IsValid
            ? new VerifyQrResponse(true, result.Qr!.ExpiresAt, result.Qr.KeyId, result.Qr.Kind.ToLowerInvariant())
            : new VerifyQrResponse(false));
    }

    private static IResult Keys(HttpContext http, ISessionQrSigner signer)
    {
        http.Response.Headers.CacheControl = $"public, max-age={KeysMaxAgeSeconds}";
        var keys = signer.VerificationKeys.Select(k => new VerifyQrKey(k.KeyId, "ES256", k.ToBase64Url())).ToList();
        return ApiResults.Json(new VerifyQrKeysResponse(keys));
    }
}
