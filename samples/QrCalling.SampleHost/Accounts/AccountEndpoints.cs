using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Register and login for owners: <c>POST /api/v1/account/register</c> and <c>POST /api/v1/account/login</c>.</summary>
public static class AccountEndpoints
{
    /// <summary>The rate-limiter policy of both endpoints.</summary>
    public const string RateLimitPolicy = "sample-account";

    /// <summary>The default issuer and audience of the sample's access tokens (see <c>QrCalling:Sample:JwtIssuer</c> and
    /// <c>QrCalling:Sample:JwtAudience</c>, and <see cref="SampleTokenIssuer.Issuer"/> for the configured ones).</summary>
    public const string Issuer = SampleSettings.DefaultJwtName;

    /// <summary>How long an access token lasts.</summary>
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(12);

    /// <summary>The register/login request body.</summary>
    /// <param name="Username">3 to 32 characters: letters, digits, '.', '_' or '-'.</param>
    /// <param name="Password">8 to 128 characters.</param>
    /// <param name="Totp">Login only, once MFA is on: the 6-digit code of the authenticator app, or a recovery code.</param>
    public sealed record Credentials(string? Username, string? Password, string? Totp = null);

    /// <summary>The login response.</summary>
    /// <param name="AccessToken">A JWT bearer for the owner endpoints and the hub.</param>
    /// <param name="ExpiresAt">When it stops working.</param>
    /// <param name="RefreshToken">A one-time token for <c>POST /api/v1/account/refresh</c>.</param>
    /// <param name="RefreshExpiresAt">When the refresh token stops working.</param>
    public sealed record LoginResponse(string AccessToken, DateTimeOffset ExpiresAt, string? RefreshToken = null, DateTimeOffset? RefreshExpiresAt = null);

    /// <summary>Maps the account endpoints (the owner's own routes are in <see cref="AccountManagementEndpoints"/>).</summary>
    public static IEndpointRouteBuilder MapSampleAccounts(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/api/v1/account").WithTags("Account").RequireRateLimiting(RateLimitPolicy).AllowAnonymous();
        group.MapPost("/register", RegisterAsync)
            .WithSummary("Create an owner account")
            .WithDescription("Creates an owner account from a user name (3 to 32 letters, digits, '.', '_' or '-') and a password " +
                "(8 to 128 characters); nothing else is asked or kept. `409 username_taken` when the name is in use. Anyone; rate " +
                "limited per client.")
            .AddOpenApiOperationTransformer(ExampleCredentials)
            .Produces(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        endpoints.MapPost("/api/v1/account/logout", Logout).WithTags("Account").RequireAuthorization()
            .WithSummary("Sign out")
            .WithDescription("Revokes this access token at once (until it would have expired) and closes the owner's open hub " +
                "connections on this instance; the owner's other signed-in devices keep their own tokens. `204`.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        group.MapPost("/login", LoginAsync)
            .WithSummary("Sign in")
            .WithDescription("Answers a bearer `accessToken` (a JWT valid 12 hours) for the owner endpoints, and for " +
                "`POST /hub-tickets` to connect to the hub, with a one-time `refreshToken` (30 days) for `POST /account/refresh`. " +
                "A wrong name or password is `401 unauthorized` (the same answer for both). Once MFA is on, a right password " +
                "without `totp` is `401 mfa_required` with an `mfaTicket` (valid 5 minutes) for `POST /account/login/mfa`; a wrong " +
                "`totp` is `401 mfa_invalid`, and after 5 wrong codes in 10 minutes `429 mfa_locked`. Anyone; rate limited per client.")
            .AddOpenApiOperationTransformer(ExampleCredentials)
            .Produces<LoginResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return endpoints;
    }

    /// <summary>The example body of register and login in the OpenAPI document (a test posts it).</summary>
    private static Task ExampleCredentials(Microsoft.OpenApi.OpenApiOperation operation, Microsoft.AspNetCore.OpenApi.OpenApiOperationTransformerContext context,
        CancellationToken cancellationToken) =>
        Example(operation, new System.Text.Json.Nodes.JsonObject { ["username"] = "alice.example", ["password"] = "correct horse battery" });

    /// <summary>Sets the example of an operation's JSON request body.</summary>
    internal static Task Example(Microsoft.OpenApi.OpenApiOperation operation, System.Text.Json.Nodes.JsonObject example)
    {
        foreach (var media in operation.RequestBody?.Content?.Values ?? [])
        {
            if (media is Microsoft.OpenApi.OpenApiMediaType concrete)
            {
                concrete.Example = example.DeepClone();
            }
        }
        return Task.CompletedTask;
    }

    private static async Task<IResult> RegisterAsync(Credentials? body, IAccountStore store, IPasswordHasher<SampleAccount> hasher, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (Validate(body) is { } invalid)
        {
            return invalid;
        }
        var account = new SampleAccount(InMemoryAccountStore.NewId(), body!.Username!.Trim(), "") { CreatedAt = time.GetUtcNow() };
        account = account with { PasswordHash = hasher.HashPassword(account, body.Password!) };
        if (!await store.TryAddAsync(account, cancellationToken))
        {
            return Problem(StatusCodes.Status409Conflict, "username_taken", "This user name is taken.");
        }
        return Results.Created((string?)null, new { username = account.UserName });
    }

    private static async Task<IResult> LoginAsync(Credentials? body, HttpContext http, IAccountStore store, IPasswordHasher<SampleAccount> hasher,
        SampleTokenIssuer issuer, AccountSecurity security, CancellationToken cancellationToken)
    {
        if (Validate(body) is { } invalid)
        {
            return invalid;
        }
        var account = await store.FindAsync(body!.Username!.Trim(), cancellationToken);
        // Verify against a dummy hash for unknown names too, so timing does not tell which names exist.
        var candidate = account ?? DummyAccount.Value;
        var verdict = hasher.VerifyHashedPassword(candidate, candidate.PasswordHash, body.Password!);
        if (account is null || verdict == PasswordVerificationResult.Failed)
        {
            if (account is not null)
            {
                await security.AuditAsync(account.Id, "login_failed", http, cancellationToken);
            }
            return Problem(StatusCodes.Status401Unauthorized, "unauthorized", "Wrong user name or password.");
        }
        if (account.MfaEnabled)
        {
            if (string.IsNullOrWhiteSpace(body.Totp))
            {
                var (ticket, ticketExpiresAt) = issuer.IssueMfaTicket(account.Id, account.Generation);
                return Results.Problem(detail: "Enter the code from your authenticator app.", statusCode: StatusCodes.Status401Unauthorized,
                    extensions: new Dictionary<string, object?> { ["code"] = "mfa_required", ["mfaTicket"] = ticket, ["mfaTicketExpiresAt"] = ticketExpiresAt });
            }
            if (await SecondFactorProblemAsync(security, account, body.Totp, http, cancellationToken) is { } refused)
            {
                return refused;
            }
        }
        return Results.Ok(await security.SignInAsync(account, cancellationToken));
    }

    /// <summary>Null when the second factor is right; otherwise <c>401 mfa_invalid</c> or <c>429 mfa_locked</c>.</summary>
    internal static async Task<IResult?> SecondFactorProblemAsync(AccountSecurity security, SampleAccount account, string? code, HttpContext http,
        CancellationToken cancellationToken) =>
        await security.CheckSecondFactorAsync(account, code, http, cancellationToken) switch
        {
            SecondFactorResult.Totp or SecondFactorResult.RecoveryCode => null,
            SecondFactorResult.Locked => Problem(StatusCodes.Status429TooManyRequests, "mfa_locked",
                "Too many wrong codes. Wait ten minutes and try again."),
            _ => Problem(StatusCodes.Status401Unauthorized, "mfa_invalid", "That code is not right (or was already used). Enter the current code."),
        };

    /// <summary>Sign-out: this token stops working at once (its id is revoked until it would have expired), and the
    /// owner's hub connections on this instance close; the owner's other signed-in devices reconnect with their own
    /// tokens.</summary>
    private static IResult Logout(HttpContext http, RevokedTokens revoked, QrCalling.Hosting.QrCallingConnections connections)
    {
        var user = http.User;
        var owner = user.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value ?? user.FindFirst(JwtRegisteredClaimNames.Sub)?.Value;
        if (owner is null || user.FindFirst(JwtRegisteredClaimNames.Jti)?.Value is not { } tokenId
            || !long.TryParse(user.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, out var exp))
        {
            return Problem(StatusCodes.Status401Unauthorized, "unauthorized", "Sign in first.");
        }
        revoked.Revoke(tokenId, DateTimeOffset.FromUnixTimeSeconds(exp));
        connections.CloseOwner(owner);
        return Results.NoContent();
    }

    private static readonly Lazy<SampleAccount> DummyAccount = new(() =>
    {
        var dummy = new SampleAccount("u_dummy", "dummy", "");
        return dummy with { PasswordHash = new PasswordHasher<SampleAccount>().HashPassword(dummy, Guid.NewGuid().ToString()) };
    });

    private static IResult? Validate(Credentials? body)
    {
        var username = body?.Username?.Trim();
        if (string.IsNullOrEmpty(username) || username.Length is < 3 or > 32 || !username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", "username must be 3 to 32 characters: letters, digits, '.', '_' or '-'.");
        }
        if (body!.Password is not { Length: >= 8 and <= 128 })
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid_request", "password must be 8 to 128 characters.");
        }
        return null;
    }

    /// <summary>A problem details result with a stable <c>code</c> member.</summary>
    public static IResult Problem(int status, string code, string detail) =>
        Results.Problem(detail: detail, statusCode: status, extensions: new Dictionary<string, object?> { ["code"] = code });
}

/// <summary>Access tokens revoked by sign-out, each until it would have expired anyway. Kept in memory: with several
/// instances or across a restart a host keeps them in its shared store instead.</summary>
public sealed class RevokedTokens(TimeProvider timeProvider)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> _revoked = new(StringComparer.Ordinal);

    /// <summary>Revokes a token id until <paramref name="expiresAt"/>.</summary>
    public void Revoke(string tokenId, DateTimeOffset expiresAt)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (id, until) in _revoked)
        {
            if (until <= now)
            {
                _revoked.TryRemove(id, out _);
            }
        }
        _revoked[tokenId] = expiresAt;
    }

    /// <summary>True when the token id was revoked.</summary>
    public bool IsRevoked(string? tokenId) => tokenId is not null && _revoked.ContainsKey(tokenId);
}
