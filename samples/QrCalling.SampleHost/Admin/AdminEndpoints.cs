using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Nodes;
using QrCalling.SampleHost.Accounts;

namespace QrCalling.SampleHost.Admin;

/// <summary>The admin console's routes (<c>/api/v1/admin/...</c>, admins only) and the public feedback and waitlist
/// routes (anyone, rate-limited, size-capped).</summary>
public static class AdminEndpoints
{
    /// <summary>The rate-limiter policy of feedback and waitlist.</summary>
    public const string PublicPolicy = "sample-public";

    /// <summary>Most bytes of a feedback or waitlist request body.</summary>
    public const int PublicBodyMax = 8 * 1024;

    /// <summary>The settings change body: any member left out (or null) keeps its value.</summary>
    /// <param name="MaintenanceMode">Refuse new calls (503 <c>maintenance</c>); running calls go on.</param>
    /// <param name="MaxCallDurationMinutes">1 to 1440 minutes (the configured maximum still caps it); 0 for the host's maximum.</param>
    /// <param name="AnalyticsEnabled">Collect the hourly aggregates.</param>
    /// <param name="FeedbackEnabled">Take feedback.</param>
    /// <param name="RegistrationOpen">Let new owners register.</param>
    public sealed record SettingsUpdate(bool? MaintenanceMode, int? MaxCallDurationMinutes, bool? AnalyticsEnabled, bool? FeedbackEnabled, bool? RegistrationOpen);

    /// <summary>A feedback body.</summary>
    /// <param name="Message">1 to 2000 characters.</param>
    /// <param name="Contact">Optional, up to 200 characters: how to answer (left out by default).</param>
    public sealed record FeedbackRequest(string? Message, string? Contact);

    /// <summary>A waitlist body.</summary>
    /// <param name="Email">An e-mail address (up to 254 characters).</param>
    public sealed record WaitlistRequest(string? Email);

    /// <summary>The analytics export (JSON).</summary>
    /// <param name="From">The first hour included (UTC).</param>
    /// <param name="Buckets">Counts per hour, metric and outcome.</param>
    public sealed record AnalyticsExport(DateTimeOffset From, IReadOnlyList<AnalyticsBucket> Buckets);

    /// <summary>Maps the routes.</summary>
    public static IEndpointRouteBuilder MapSampleAdmin(this IEndpointRouteBuilder endpoints)
    {
        var admin = endpoints.MapGroup("/api/v1/admin").WithTags("Admin").RequireAuthorization().AddEndpointFilter(AdminOnlyAsync);
        admin.MapGet("/stats", GetStatsAsync)
            .WithSummary("Dashboard numbers")
            .WithDescription("Counts from the `QrCalling` meter since this instance started: codes issued, scans by outcome, calls " +
                "started by media and ended by reason, active calls, hub connections and the call set-up time histogram, with the " +
                "settings in force. No identifiers. Admin only: `403 admin_required` for other owners, `401` anonymous.")
            .Produces<AdminStats>().ProducesProblem(401).ProducesProblem(403);
        admin.MapGet("/settings", async (AdminRuntime runtime, CancellationToken ct) => Results.Ok(await runtime.GetSettingsAsync(ct)))
            .WithSummary("Read the runtime settings")
            .WithDescription("The runtime settings (kept in the configured store). Admin only.")
            .Produces<AdminSettings>().ProducesProblem(401).ProducesProblem(403);
        admin.MapPut("/settings", UpdateSettingsAsync)
            .WithSummary("Change the runtime settings")
            .WithDescription("Changes any of `maintenanceMode` (new calls answer `503 maintenance`, running calls go on), " +
                "`maxCallDurationMinutes` (1 to 1440, 0 for the host's maximum; applies to calls started from now on), " +
                "`analyticsEnabled`, `feedbackEnabled` and `registrationOpen` (register answers `403 registration_closed`). " +
                "Members left out keep their values. Answers the settings. Admin only.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["maintenanceMode"] = true }))
            .Produces<AdminSettings>().ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);
        admin.MapGet("/analytics", ExportAnalyticsAsync)
            .WithSummary("Export the analytics")
            .WithDescription("Counts per hour, metric and outcome only (never per user, code or call) for the last `hours` hours " +
                "(1 to 2160, default 168), as JSON or, with `format=csv`, as CSV (`hour,metric,outcome,count`). Admin only.")
            .Produces<AnalyticsExport>().Produces(200, contentType: "text/csv").ProducesProblem(400).ProducesProblem(401).ProducesProblem(403);
        admin.MapGet("/feedback", async (IAdminStore store, CancellationToken ct) => Results.Ok(await store.ListFeedbackAsync(AdminLimits.ListMax, ct)))
            .WithSummary("List feedback").WithDescription("Feedback, newest first (at most 500). Admin only.")
            .Produces<IReadOnlyList<FeedbackEntry>>().ProducesProblem(401).ProducesProblem(403);
        admin.MapDelete("/feedback/{id}", async (string id, IAdminStore store, CancellationToken ct) =>
                await store.DeleteFeedbackAsync(id, ct) ? Results.NoContent() : AccountEndpoints.Problem(404, "not_found", "No such feedback."))
            .WithSummary("Delete feedback").WithDescription("`204`, or `404 not_found`. Admin only.")
            .Produces(204).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);
        admin.MapGet("/waitlist", async (IAdminStore store, CancellationToken ct) => Results.Ok(await store.ListWaitlistAsync(AdminLimits.ListMax, ct)))
            .WithSummary("List the waitlist").WithDescription("Addresses, newest first (at most 500). Each is deleted by the retention " +
                "sweep `QrCalling:Sample:WaitlistRetentionDays` after it was added, or earlier by an admin. Admin only.")
            .Produces<IReadOnlyList<WaitlistEntry>>().ProducesProblem(401).ProducesProblem(403);
        admin.MapDelete("/waitlist/{id}", async (string id, IAdminStore store, CancellationToken ct) =>
                await store.DeleteWaitlistAsync(id, ct) ? Results.NoContent() : AccountEndpoints.Problem(404, "not_found", "No such address."))
            .WithSummary("Delete a waitlist address").WithDescription("`204`, or `404 not_found`. Admin only.")
            .Produces(204).ProducesProblem(401).ProducesProblem(403).ProducesProblem(404);
        admin.MapGet("/ops-log", (OpsLog log) => Results.Ok(log.Recent(OpsLog.Capacity)))
            .WithSummary("Recent warnings and errors")
            .WithDescription("This instance's newest warnings and errors (at most 200), scrubbed of tokens, addresses and ids; " +
                "exceptions by type name only. Admin only.")
            .Produces<IReadOnlyList<OpsLogEntry>>().ProducesProblem(401).ProducesProblem(403);

        var open = endpoints.MapGroup("/api/v1").WithTags("Feedback").AllowAnonymous().RequireRateLimiting(PublicPolicy);
        open.MapPost("/feedback", AddFeedbackAsync)
            .WithSummary("Leave feedback")
            .WithDescription("`message` (1 to 2000 characters) and, only if the person wants an answer, `contact` (up to 200). " +
                "`201`; `403 feedback_closed` while an admin turned feedback off; `413 too_large` over 8 KiB. Anyone; rate limited per client.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["message"] = "The call page works well." }))
            .Produces(201).ProducesProblem(400).ProducesProblem(403).ProducesProblem(413).ProducesProblem(429);
        open.MapPost("/waitlist", AddWaitlistAsync)
            .WithSummary("Join the waitlist")
            .WithDescription("`email`; `201` (also when the address is listed already, so the answer tells nobody who is). The " +
                "address is kept until an admin deletes it or the retention sweep does. Anyone; rate limited per client.")
            .AddOpenApiOperationTransformer((o, _, _) => AccountEndpoints.Example(o, new JsonObject { ["email"] = "someone@example.com" }))
            .Produces(201).ProducesProblem(400).ProducesProblem(413).ProducesProblem(429);
        return endpoints;
    }

    /// <summary>Admins only: an account named in <c>QrCalling:Sample:Admins</c>, with two-step sign-in on (its token was
    /// issued after its code); without it <c>403 admin_mfa_required</c>. Anyone else signed in gets
    /// <c>403 admin_required</c>.</summary>
    private static async ValueTask<object?> AdminOnlyAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var services = http.RequestServices;
        var id = http.User.FindFirst(ClaimTypes.NameIdentifier)?.Value;
        var account = id is null ? null : await services.GetRequiredService<IAccountStore>().FindByIdAsync(id, http.RequestAborted);
        if (account is null)
        {
            return AccountEndpoints.Problem(StatusCodes.Status401Unauthorized, "unauthorized", "Sign in first.");
        }
        var console = services.GetRequiredService<AdminConsoleSettings>();
        if (!console.Admins.Contains(account.UserName))
        {
            return AccountEndpoints.Problem(StatusCodes.Status403Forbidden, "admin_required", "This page is for the service's admins.");
        }
        // An admin account opens the console only with two-step sign-in on (read from the account now, so turning it
        // off closes the console at the next request).
        if (console.AdminsRequireTwoStep && !account.MfaEnabled)
        {
            return AccountEndpoints.Problem(StatusCodes.Status403Forbidden, "admin_mfa_required",
                "Turn on two-step sign-in on your account page before using the admin console.");
        }
        http.Response.Headers.CacheControl = "no-store";
        return await next(context);
    }

    private static async Task<IResult> GetStatsAsync(AdminMetrics metrics, AdminRuntime runtime, CancellationToken cancellationToken) =>
        Results.Ok(metrics.Snapshot(await runtime.GetSettingsAsync(cancellationToken)));

    private static async Task<IResult> UpdateSettingsAsync(SettingsUpdate? body, AdminRuntime runtime, CancellationToken cancellationToken)
    {
        if (body is null)
        {
            return AccountEndpoints.Problem(400, "invalid_request", "The body must be a JSON object of settings.");
        }
        if (body.MaxCallDurationMinutes is < 0 or > AdminLimits.MaxCallDurationMinutesMax)
        {
            return AccountEndpoints.Problem(400, "invalid_request", $"maxCallDurationMinutes must be 0 (the host's maximum) to {AdminLimits.MaxCallDurationMinutesMax}.");
        }
        var current = await runtime.GetSettingsAsync(cancellationToken);
        var updated = current with
        {
            MaintenanceMode = body.MaintenanceMode ?? current.MaintenanceMode,
            MaxCallDurationMinutes = body.MaxCallDurationMinutes switch { null => current.MaxCallDurationMinutes, 0 => null, var m => m },
            AnalyticsEnabled = body.AnalyticsEnabled ?? current.AnalyticsEnabled,
            FeedbackEnabled = body.FeedbackEnabled ?? current.FeedbackEnabled,
            RegistrationOpen = body.RegistrationOpen ?? current.RegistrationOpen,
        };
        await runtime.SaveAsync(updated, cancellationToken);
        return Results.Ok(updated);
    }

    private static async Task<IResult> ExportAnalyticsAsync(HttpContext http, AdminMetrics metrics, IAdminStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        var hours = 168;
        var hoursText = http.Request.Query["hours"].ToString();
        if (hoursText.Length > 0 && (!int.TryParse(hoursText, NumberStyles.None, CultureInfo.InvariantCulture, out hours) || hours is < 1 or > 2160))
        {
            return AccountEndpoints.Problem(400, "invalid_request", "hours must be a whole number from 1 to 2160.");
        }
        var format = http.Request.Query["format"].ToString();
        if (format is not ("" or "json" or "csv"))
        {
            return AccountEndpoints.Problem(400, "invalid_request", "format must be json or csv.");
        }
        await metrics.FlushAnalyticsAsync(store, cancellationToken);
        var now = time.GetUtcNow();
        var from = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero).AddHours(1 - hours);
        var buckets = await store.ListAnalyticsAsync(from, cancellationToken);
        if (format == "csv")
        {
            return Results.Text(AnalyticsFormat.ToCsv(buckets), "text/csv; charset=utf-8");
        }
        return Results.Ok(new AnalyticsExport(from, buckets));
    }

    private static IResult? TooLarge(HttpContext http) => http.Request.ContentLength > PublicBodyMax
        ? AccountEndpoints.Problem(StatusCodes.Status413PayloadTooLarge, "too_large", "The request body is too large (8 KiB at most).")
        : null;

    private static async Task<IResult> AddFeedbackAsync(HttpContext http, FeedbackRequest? body, IAdminStore store, AdminRuntime runtime, TimeProvider time,
        CancellationToken cancellationToken)
    {
        if (TooLarge(http) is { } tooLarge)
        {
            return tooLarge;
        }
        var message = body?.Message?.Trim();
        var contact = string.IsNullOrWhiteSpace(body?.Contact) ? null : body.Contact.Trim();
        if (string.IsNullOrEmpty(message) || message.Length > AdminLimits.FeedbackMessageMax)
        {
            return AccountEndpoints.Problem(400, "invalid_request", $"message must be 1 to {AdminLimits.FeedbackMessageMax} characters.");
        }
        if (contact is { Length: > AdminLimits.FeedbackContactMax })
        {
            return AccountEndpoints.Problem(400, "invalid_request", $"contact must be at most {AdminLimits.FeedbackContactMax} characters.");
        }
        if (!(await runtime.GetSettingsAsync(cancellationToken)).FeedbackEnabled)
        {
            return AccountEndpoints.Problem(403, "feedback_closed", "Feedback is turned off for now.");
        }
        await store.AddFeedbackAsync(new FeedbackEntry(InMemoryAdminStore.NewId("fb_"), time.GetUtcNow(), message, contact), AdminLimits.FeedbackKept, cancellationToken);
        return Results.Created((string?)null, new { received = true });
    }

    private static async Task<IResult> AddWaitlistAsync(HttpContext http, WaitlistRequest? body, IAdminStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (TooLarge(http) is { } tooLarge)
        {
            return tooLarge;
        }
        var email = body?.Email?.Trim();
        if (!IsEmail(email))
        {
            return AccountEndpoints.Problem(400, "invalid_request", "email must be an e-mail address (up to 254 characters).");
        }
        await store.AddWaitlistAsync(new WaitlistEntry(InMemoryAdminStore.NewId("wl_"), time.GetUtcNow(), email!), cancellationToken);
        return Results.Created((string?)null, new { received = true });
    }

    /// <summary>A plausible address: one '@' with text on both sides, a dot in the domain, no spaces or control characters.</summary>
    internal static bool IsEmail(string? email)
    {
        if (string.IsNullOrEmpty(email) || email.Length > AdminLimits.EmailMax || email.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return false;
        }
        var at = email.IndexOf('@', StringComparison.Ordinal);
        return at > 0 && at == email.LastIndexOf('@') && email.IndexOf('.', at) > at + 1 && !email.EndsWith('.');
    }

    /// <summary>Refuses <c>POST /api/v1/account/register</c> with <c>403 registration_closed</c> while an admin closed
    /// registration.</summary>
    internal static async Task RegistrationGateAsync(HttpContext http, RequestDelegate next)
    {
        if (HttpMethods.IsPost(http.Request.Method) && http.Request.Path.Equals("/api/v1/account/register", StringComparison.OrdinalIgnoreCase)
            && !(await http.RequestServices.GetRequiredService<AdminRuntime>().GetSettingsAsync(http.RequestAborted)).RegistrationOpen)
        {
            http.Response.Headers.CacheControl = "no-store";
            await AccountEndpoints.Problem(403, "registration_closed", "New accounts cannot be made right now.").ExecuteAsync(http);
            return;
        }
        await next(http);
    }
}
