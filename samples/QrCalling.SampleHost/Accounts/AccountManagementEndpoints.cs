using System.Security.Claims;
using System.Text.Json.Nodes;
using QrCalling.Codes;
using QrCalling.Hosting;
using QrCalling.Storage;
using QRCoder;

namespace QrCalling.SampleHost.Accounts;

/// <summary>The owner's own account: profile, password, sign-out everywhere, refresh, deletion, TOTP MFA and the
/// security audit log (all under <c>/api/v1/account</c>).</summary>
public static class AccountManagementEndpoints
{
    /// <summary>Most characters of a display name.</summary>
    public const int DisplayNameMaxLength = 64;

    /// <summary>The profile.</summary>
    /// <param name="Username">The sign-in name.</param>
    /// <param name="DisplayName">How the web app greets the owner; null when not set.</param>
    /// <param name="CreatedAt">When the account was made (null for accounts made before it was recorded).</param>
    /// <param name="MfaEnabled">Whether sign-in asks for an authenticator code.</param>
    /// <param name="RecoveryCodesLeft">Unused recovery codes (0 while MFA is off).</param>
    public sealed record Profile(string Username, string? DisplayName, DateTimeOffset? CreatedAt, bool MfaEnabled, int RecoveryCodesLeft);

    /// <summary>PATCH body: the display name ("" clears it).</summary>
    /// <param name="DisplayName">0 to 64 characters, no control characters.</param>
    public sealed record ProfileUpdate(string? DisplayName);

    /// <summary>Password change body.</summary>
    /// <param name="CurrentPassword">The password now.</param>
    /// <param name="NewPassword">8 to 128 characters.</param>
    public sealed record PasswordChange(string? CurrentPassword, string? NewPassword);

    /// <summary>Re-authentication body of account deletion and MFA disabling.</summary>
    /// <param name="Password">The account's password.</param>
    /// <param name="Totp">The authenticator code or a recovery code, when MFA is on.</param>
    public sealed record Reauthentication(string? Password, string? Totp = null);

    /// <summary>The second step of a sign-in with MFA.</summary>
    /// <param name="MfaTicket">The ticket of the <c>mfa_required</c> answer.</param>
    /// <param name="Code">The authenticator code, or a recovery code.</param>
    public sealed record MfaLogin(string? MfaTicket, string? Code);

    /// <summary>A refresh request.</summary>
    /// <param name="RefreshToken">The refresh token of the last login or refresh.</param>
    public sealed record RefreshRequest(string? RefreshToken);

    /// <summary>A TOTP code.</summary>
    /// <param name="Code">6 digits.</param>
    public sealed record TotpCode(string? Code);

    /// <summary>The answer of MFA enrolment.</summary>
    /// <param name="Secret">The TOTP secret in base32 (SHA-1, 6 digits, 30 s), for typing into an authenticator app.</param>
    /// <param name="OtpauthUri">The same as an <c>otpauth://totp/...</c> URI.</param>
    /// <param name="QrCode">A QR code of the URI, as an SVG data URI, for scanning with the app.</param>
    /// <param name="RecoveryCodes">One-time codes for when the app is lost: shown now only, stored hashed; they work once
    /// MFA is confirmed.</param>
    public sealed record TotpEnrolment(string Secret, string OtpauthUri, string QrCode, IReadOnlyList<string> RecoveryCodes);

    /// <summary>The audit log answer.</summary>
    /// <param name="Entries">Newest first.</param>
    public sealed record AuditLog(IReadOnlyList<AuditEntry> Entries);

    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapSampleAccountManagement(this IEndpointRouteBuilder endpoints)
    {
        var owner = endpoints.MapGroup("/api/v1/account").WithTags("Account").RequireAuthorization();
        var anonymous = endpoints.MapGroup("/api/v1/account").WithTags("Account").AllowAnonymous().RequireRateLimiting(AccountEndpoints.RateLimitPolicy);

        owner.MapGet("", GetProfileAsync)
            .WithSummary("Read the profile")
            .WithDescription("The signed-in owner's profile: user name, display name, creation time, whether MFA is on and how many " +
                "recovery codes are left. Owner.")
            .Produces<Profile>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        owner.MapPatch("", UpdateProfileAsync)
            .WithSummary("Change the profile")
            .WithDescription("Sets the display name (0 to 64 characters without control characters; \"\" clears it), shown only to " +
                "the owner. `400 invalid_request` otherwise. Owner.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["displayName"] = "Alice" }))
            .Produces<Profile>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        owner.MapDelete("", DeleteAccountAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy)
            .WithSummary("Delete the account")
            .WithDescription("With the password (and `totp` when MFA is on): ends the account's open calls, then erases the account, " +
                "its codes (which answer `unavailable` from then on), push subscriptions, message key, left messages, call history, " +
                "refresh tokens and audit log in the configured storage, and closes its hub connections. `204`. A wrong password is " +
                "`403 wrong_password`; with MFA on, no code is `403 mfa_required`, a wrong one `403 mfa_invalid`, too many `429 mfa_locked`. Owner.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["password"] = "correct horse battery" }))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        owner.MapPost("/password", ChangePasswordAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy)
            .WithSummary("Change the password")
            .WithDescription("Needs the current password (`403 wrong_password` otherwise) and a new one of 8 to 128 characters " +
                "(`400 invalid_request`). Signs out everywhere (every access and refresh token of the account stops working, hub " +
                "connections on this instance close) and answers new tokens for this device, as login does. Owner.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o,
                new JsonObject { ["currentPassword"] = "correct horse battery", ["newPassword"] = "correct horse battery staple" }))
            .Produces<AccountEndpoints.LoginResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);
        owner.MapPost("/sign-out-everywhere", SignOutEverywhereAsync)
            .WithSummary("Sign out everywhere")
            .WithDescription("Moves the account's security generation on: every access token and refresh token issued before stops " +
                "working at its next use (each request and each hub connect checks it), and the owner's hub connections on this " +
                "instance close at once (on other instances they are refused at their next connect). `204`. Owner.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        owner.MapGet("/audit", GetAuditAsync)
            .WithSummary("Read the security log")
            .WithDescription("The account's latest security events, newest first (at most 100): `login_failed`, `mfa_failed`, " +
                "`recovery_code_used`, `refresh_reused`, `password_changed`, `signed_out_everywhere`, `mfa_enabled`, `mfa_disabled`. " +
                "`client` is a keyed hash of the client's address (16 hex characters), never the address. Owner.")
            .Produces<AuditLog>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        owner.MapPost("/mfa/totp", EnrolTotpAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy)
            .WithSummary("Start MFA enrolment")
            .WithDescription("Makes a TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s) and recovery codes: answers `{secret, otpauthUri, " +
                "qrCode, recoveryCodes}`, where `qrCode` is an SVG data URI of the otpauth URI. Nothing changes for sign-in until " +
                "`POST /account/mfa/totp/confirm`. `409 mfa_already_enabled` when MFA is on. Owner.")
            .Produces<TotpEnrolment>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status409Conflict);
        owner.MapPost("/mfa/totp/confirm", ConfirmTotpAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy)
            .WithSummary("Confirm MFA")
            .WithDescription("With a current code of the enrolled secret: MFA is on (`204`), and login needs a code from now on. " +
                "`400 mfa_invalid` for a wrong or used code, `409 mfa_not_enrolling` without an enrolment. Owner.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["code"] = "123456" }))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status409Conflict);
        owner.MapDelete("/mfa/totp", DisableTotpAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy)
            .WithSummary("Turn MFA off")
            .WithDescription("With the password and a current code (or a recovery code) in `totp`: MFA is off and the recovery codes " +
                "are gone (`204`). `403 wrong_password`, `403 mfa_invalid`, `429 mfa_locked`, `409 mfa_not_enabled`. Owner.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["password"] = "correct horse battery", ["totp"] = "123456" }))
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        anonymous.MapPost("/login/mfa", LoginMfaAsync)
            .WithSummary("Sign in: the second step")
            .WithDescription("With the `mfaTicket` of a `401 mfa_required` login and a code of the authenticator app (or a recovery " +
                "code): answers tokens as login does. `401 mfa_ticket_expired` for a bad or expired ticket (sign in again), `401 " +
                "mfa_invalid` for a wrong or already used code, `429 mfa_locked` after 5 wrong codes in 10 minutes. Anyone; rate limited.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["mfaTicket"] = "eyJ...", ["code"] = "123456" }))
            .Produces<AccountEndpoints.LoginResponse>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        anonymous.MapPost("/refresh", RefreshAsync)
            .WithSummary("Refresh the tokens")
            .WithDescription("Trades a refresh token, once, for a new access token and a new refresh token (rotation). Presenting an " +
                "older refresh token of the same sign-in again is `401 refresh_reused` and revokes that sign-in's refresh tokens; an " +
                "unknown, expired or revoked one (sign-out everywhere, password change, deleted account) is `401 unauthorized`. Anyone; rate limited.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["refreshToken"] = "qrt_0123456789abcdef01234567.x" }))
            .Produces<AccountEndpoints.LoginResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return endpoints;
    }

    private static string? OwnerId(ClaimsPrincipal user) => user.FindFirst(ClaimTypes.NameIdentifier)?.Value;

    private static IResult SessionEnded() => AccountEndpoints.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "Sign in first.");

    private static Profile ToProfile(SampleAccount a) =>
        new(a.UserName, a.DisplayName, a.CreatedAt == default ? null : a.CreatedAt, a.MfaEnabled, a.MfaEnabled ? a.RecoveryCodeHashes.Count : 0);

    private static async Task<IResult> GetProfileAsync(ClaimsPrincipal user, IAccountStore store, CancellationToken cancellationToken) =>
        OwnerId(user) is { } id && await store.FindByIdAsync(id, cancellationToken) is { } account ? Results.Ok(ToProfile(account)) : SessionEnded();

    private static async Task<IResult> UpdateProfileAsync(ProfileUpdate? body, ClaimsPrincipal user, AccountSecurity security, CancellationToken cancellationToken)
    {
        var name = body?.DisplayName?.Trim();
        if (name is null || name.Length > DisplayNameMaxLength || name.Any(char.IsControl))
        {
            return AccountEndpoints.Problem(StatusCodes.Status400BadRequest, "invalid_request",
                $"displayName must be 0 to {DisplayNameMaxLength} characters without control characters.");
        }
        if (OwnerId(user) is not { } id)
        {
            return SessionEnded();
        }
        var (updated, _) = await security.UpdateAsync(id, a => a with { DisplayName = name.Length == 0 ? null : name }, cancellationToken);
        return updated is null ? SessionEnded() : Results.Ok(ToProfile(updated));
    }

    private static async Task<IResult> ChangePasswordAsync(PasswordChange? body, ClaimsPrincipal user, HttpContext http, AccountSecurity security,
        Microsoft.AspNetCore.Identity.IPasswordHasher<SampleAccount> hasher, QrCallingConnections connections, CancellationToken cancellationToken)
    {
        if (body?.NewPassword is not { Length: >= 8 and <= 128 })
        {
            return AccountEndpoints.Problem(StatusCodes.Status400BadRequest, "invalid_request", "The new password must be 8 to 128 characters.");
        }
        if (OwnerId(user) is not { } id || await security.Store.FindByIdAsync(id, cancellationToken) is not { } account)
        {
            return SessionEnded();
        }
        if (!security.PasswordMatches(account, body.CurrentPassword))
        {
            await security.AuditAsync(id, "login_failed", http, cancellationToken);
            return WrongPassword();
        }
        var (updated, _) = await security.UpdateAsync(id, a => a with { PasswordHash = hasher.HashPassword(a, body.NewPassword), Generation = a.Generation + 1 },
            cancellationToken);
        if (updated is null)
        {
            return SessionEnded();
        }
        connections.CloseOwner(id);
        await security.AuditAsync(id, "password_changed", http, cancellationToken);
        return Results.Ok(await security.SignInAsync(updated, cancellationToken));
    }

    private static async Task<IResult> SignOutEverywhereAsync(ClaimsPrincipal user, HttpContext http, AccountSecurity security, QrCallingConnections connections,
        CancellationToken cancellationToken)
    {
        if (OwnerId(user) is not { } id)
        {
            return SessionEnded();
        }
        var (updated, _) = await security.UpdateAsync(id, a => a with { Generation = a.Generation + 1 }, cancellationToken);
        if (updated is null)
        {
            return SessionEnded();
        }
        connections.CloseOwner(id);
        await security.AuditAsync(id, "signed_out_everywhere", http, cancellationToken);
        return Results.NoContent();
    }

    private static async Task<IResult> GetAuditAsync(ClaimsPrincipal user, IAccountStore store, CancellationToken cancellationToken) =>
        OwnerId(user) is { } id ? Results.Ok(new AuditLog(await store.ListAuditAsync(id, AccountSecurity.AuditKept, cancellationToken))) : SessionEnded();

    private static async Task<IResult> DeleteAccountAsync([Microsoft.AspNetCore.Mvc.FromBody] Reauthentication? body, ClaimsPrincipal user, HttpContext http, AccountSecurity security,
        CodeService codes, IStorage storage, QrCallingConnections connections, CancellationToken cancellationToken)
    {
        if (OwnerId(user) is not { } id || await security.Store.FindByIdAsync(id, cancellationToken) is not { } account)
        {
            return SessionEnded();
        }
        if (await ReauthenticateAsync(security, account, body, http, cancellationToken) is { } refused)
        {
            return refused;
        }
        // Codes through CodeService first, so their open calls end and the callers are told; then everything else.
        var codeIds = new List<string>();
        await foreach (var code in codes.ListAsync(id, cancellationToken))
        {
            codeIds.Add(code.Id);
        }
        foreach (var codeId in codeIds)
        {
            await codes.DeleteAsync(id, codeId, cancellationToken);
        }
        var eraser = storage as IOwnerDataStore
            ?? throw new InvalidOperationException("The configured QrCalling storage cannot erase an owner's data (IOwnerDataStore).");
        await eraser.EraseOwnerAsync(id, cancellationToken);
        await security.Store.DeleteAsync(id, cancellationToken);
        connections.CloseOwner(id);
        return Results.NoContent();
    }

    private static async Task<IResult> EnrolTotpAsync(ClaimsPrincipal user, AccountSecurity security, CancellationToken cancellationToken)
    {
        if (OwnerId(user) is not { } id)
        {
            return SessionEnded();
        }
        var secret = Totp.NewSecret();
        var (recoveryCodes, hashes) = AccountSecurity.NewRecoveryCodes();
        var (updated, seen) = await security.UpdateAsync(id, a => a.MfaEnabled ? null : a with { PendingTotpSecret = secret, RecoveryCodeHashes = hashes },
            cancellationToken);
        if (updated is null)
        {
            return seen is null ? SessionEnded()
                : AccountEndpoints.Problem(StatusCodes.Status409Conflict, "mfa_already_enabled", "Two-step sign-in is already on.");
        }
        var uri = Totp.OtpAuthUri(AccountSecurity.TotpIssuer, updated.UserName, secret);
        using var data = QRCodeGenerator.GenerateQrCode(uri, QRCodeGenerator.ECCLevel.M);
        var svg = new SvgQRCode(data).GetGraphic(6);
        var qr = "data:image/svg+xml;base64," + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(svg));
        return Results.Ok(new TotpEnrolment(secret, uri, qr, recoveryCodes));
    }

    private static async Task<IResult> ConfirmTotpAsync(TotpCode? body, ClaimsPrincipal user, HttpContext http, AccountSecurity security, CancellationToken cancellationToken)
    {
        if (OwnerId(user) is not { } id)
        {
            return SessionEnded();
        }
        var now = security.Now;
        var (updated, seen) = await security.UpdateAsync(id, a => a.PendingTotpSecret is { } pending && !a.MfaEnabled
            && Totp.Verify(pending, body?.Code?.Trim(), now, a.TotpLastStep) is { } step
                ? a with { TotpSecret = pending, PendingTotpSecret = null, TotpLastStep = step }
                : null, cancellationToken);
        if (updated is not null)
        {
            await security.AuditAsync(id, "mfa_enabled", http, cancellationToken);
            return Results.NoContent();
        }
        return seen switch
        {
            null => SessionEnded(),
            { MfaEnabled: true } => AccountEndpoints.Problem(StatusCodes.Status409Conflict, "mfa_already_enabled", "Two-step sign-in is already on."),
            { PendingTotpSecret: null } => AccountEndpoints.Problem(StatusCodes.Status409Conflict, "mfa_not_enrolling", "Start the set-up first."),
            _ => AccountEndpoints.Problem(StatusCodes.Status400BadRequest, "mfa_invalid", "That code is not right. Enter the code your app shows now."),
        };
    }

    private static async Task<IResult> DisableTotpAsync([Microsoft.AspNetCore.Mvc.FromBody] Reauthentication? body, ClaimsPrincipal user, HttpContext http, AccountSecurity security,
        CancellationToken cancellationToken)
    {
        if (OwnerId(user) is not { } id || await security.Store.FindByIdAsync(id, cancellationToken) is not { } account)
        {
            return SessionEnded();
        }
        if (!account.MfaEnabled)
        {
            return AccountEndpoints.Problem(StatusCodes.Status409Conflict, "mfa_not_enabled", "Two-step sign-in is not on.");
        }
        if (await ReauthenticateAsync(security, account, body, http, cancellationToken) is { } refused)
        {
            return refused;
        }
        await security.UpdateAsync(id, a => a with { TotpSecret = null, PendingTotpSecret = null, RecoveryCodeHashes = [] }, cancellationToken);
        await security.AuditAsync(id, "mfa_disabled", http, cancellationToken);
        return Results.NoContent();
    }

    private static async Task<IResult> LoginMfaAsync(MfaLogin? body, HttpContext http, SampleTokenIssuer issuer, AccountSecurity security, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(body?.Code))
        {
            return AccountEndpoints.Problem(StatusCodes.Status400BadRequest, "invalid_request", "Enter the code from your authenticator app.");
        }
        if (await issuer.ReadMfaTicketAsync(body.MfaTicket) is not { } ticket
            || await security.Store.FindByIdAsync(ticket.OwnerId, cancellationToken) is not { MfaEnabled: true } account
            || account.Generation != ticket.Generation)
        {
            return AccountEndpoints.Problem(StatusCodes.Status401Unauthorized, "mfa_ticket_expired", "The sign-in took too long. Sign in again.");
        }
        if (await AccountEndpoints.SecondFactorProblemAsync(security, account, body.Code, http, cancellationToken) is { } refused)
        {
            return refused;
        }
        return Results.Ok(await security.SignInAsync(account, cancellationToken));
    }

    private static async Task<IResult> RefreshAsync(RefreshRequest? body, HttpContext http, AccountSecurity security, CancellationToken cancellationToken)
    {
        var (outcome, response) = await security.RefreshAsync(body?.RefreshToken, http, cancellationToken);
        return outcome switch
        {
            AccountSecurity.RefreshOutcome.Rotated => Results.Ok(response),
            AccountSecurity.RefreshOutcome.Reused => AccountEndpoints.Problem(StatusCodes.Status401Unauthorized, "refresh_reused",
                "This refresh token was already used; that sign-in is revoked. Sign in again."),
            _ => AccountEndpoints.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "Sign in again."),
        };
    }

    /// <summary>Password and, with MFA on, a second factor: null when both are right.</summary>
    private static async Task<IResult?> ReauthenticateAsync(AccountSecurity security, SampleAccount account, Reauthentication? body, HttpContext http,
        CancellationToken cancellationToken)
    {
        if (!security.PasswordMatches(account, body?.Password))
        {
            await security.AuditAsync(account.Id, "login_failed", http, cancellationToken);
            return WrongPassword();
        }
        if (!account.MfaEnabled)
        {
            return null;
        }
        if (string.IsNullOrWhiteSpace(body!.Totp))
        {
            return AccountEndpoints.Problem(StatusCodes.Status403Forbidden, "mfa_required", "Enter the code from your authenticator app.");
        }
        return await security.CheckSecondFactorAsync(account, body.Totp, http, cancellationToken) switch
        {
            SecondFactorResult.Totp or SecondFactorResult.RecoveryCode => null,
            SecondFactorResult.Locked => AccountEndpoints.Problem(StatusCodes.Status429TooManyRequests, "mfa_locked", "Too many wrong codes. Wait ten minutes and try again."),
            _ => AccountEndpoints.Problem(StatusCodes.Status403Forbidden, "mfa_invalid", "That code is not right (or was already used)."),
        };
    }

    private static IResult WrongPassword() => AccountEndpoints.Problem(StatusCodes.Status403Forbidden, "wrong_password", "That password is not right.");
}
