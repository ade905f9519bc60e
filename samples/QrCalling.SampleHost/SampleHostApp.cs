using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using QrCalling.SampleHost.Accounts;
using QrCalling.SampleHost.Admin;
using Scalar.AspNetCore;

namespace QrCalling.SampleHost;

/// <summary>Builds and runs the reference host: QrCalling's API and hub, owner accounts with JWT bearer tokens, the
/// OpenAPI document with a locally served Scalar UI, and the web app in wwwroot.</summary>
public static partial class SampleHostApp
{
    /// <summary>The hub path (QrCalling's default).</summary>
    public const string HubPath = "/hubs/calls";

    /// <summary>Runs the host until it stops; a bad setting prints one line to <paramref name="error"/> and returns 1.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter error, CancellationToken cancellationToken = default)
    {
        try
        {
            var app = Build(args);
            await app.RunAsync(cancellationToken);
            return 0;
        }
        catch (Exception exception) when (DescribeStartupError(exception) is { } line)
        {
            await error.WriteLineAsync(line);
            return 1;
        }
    }

    /// <summary>One line describing a configuration error, or null for any other exception.</summary>
    public static string? DescribeStartupError(Exception exception) => exception switch
    {
        SampleConfigurationException e => "Configuration error: " + e.Message,
        OptionsValidationException e => "Configuration error: " + OneLine(e),
        // Binding a value of the wrong type ("Failed to convert configuration value 'abc' at 'QrCalling:RingTimeout' ...").
        InvalidOperationException e when e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            "Configuration error: " + e.Message.ReplaceLineEndings(" "),
        AggregateException { InnerExceptions.Count: > 0 } e when e.InnerExceptions.All(i => DescribeStartupError(i) is not null) =>
            string.Join(" ", e.InnerExceptions.Select(i => DescribeStartupError(i)).Distinct()),
        _ => null,
    };

    private static string OneLine(OptionsValidationException exception)
    {
        var section = exception.OptionsType.Name switch
        {
            "QrCallingOptions" or "QrCallingHostingOptions" => "QrCalling",
            // The sample fills the adapters' connection settings from ConnectionStrings:Postgres / ConnectionStrings:Redis.
            "PostgresStorageOptions" => "ConnectionStrings:Postgres",
            "RedisStorageOptions" or "RedisBackplaneOptions" => "ConnectionStrings:Redis",
            _ => null,
        };
        return string.Join("; ", exception.Failures.Select(f => NameTheKey(f.ReplaceLineEndings(" ").Trim(), section)).Distinct());
    }

    /// <summary>DataAnnotations failures name the options member ("PublicBaseUrl: The ... field is not valid"); say the
    /// configuration key instead ("QrCalling:PublicBaseUrl: ..."). Messages that already name a key stay as they are.</summary>
    private static string NameTheKey(string failure, string? section)
    {
        var match = MemberFailure().Match(failure);
        if (section is null || !match.Success || failure.StartsWith(section + ":", StringComparison.Ordinal))
        {
            return failure;
        }
        var member = match.Groups["member"].Value;
        return section.StartsWith("ConnectionStrings:", StringComparison.Ordinal)
            ? $"{section}: {match.Groups["error"].Value}"
            : $"{section}:{member.Replace('.', ':')}: {match.Groups["error"].Value}";
    }

    [GeneratedRegex("^(?<member>[A-Za-z][\\w.]*): (?<error>.+)$")]
    private static partial Regex MemberFailure();

    /// <summary>Builds the application (also used by the tests, which pass <c>--urls</c> and <c>--contentRoot</c>).</summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        // `dotnet run` from any folder, in any environment, serves wwwroot through the build's static web assets
        // manifest (a no-op when published, where wwwroot sits next to the app).
        builder.WebHost.UseStaticWebAssets();
        var settings = SampleSettings.From(builder.Configuration);
        var telemetry = SampleTelemetry.From(builder.Configuration);
        var services = builder.Services;

        // QrCalling: binds the "QrCalling" section (PublicBaseUrl, Turn, Stun, lifetimes) and picks the storage.
        // MessagePack next to JSON for clients that ask for it (the web pages speak JSON).
        var qrCalling = services.AddQrCalling(builder.Configuration).AddMessagePackProtocol().AddWebPush(builder.Configuration);
        switch (settings.Storage)
        {
            case "postgres":
                qrCalling.UsePostgresStorage(o => o.ConnectionString = settings.ConnectionString);
                if (settings.BackplaneConnectionString is { } backplane)
                {
                    qrCalling.UseRedisBackplane(o => o.Configuration = backplane);
                }
                break;
            case "redis":
                qrCalling.UseRedisStorage(o => o.Configuration = settings.ConnectionString).UseRedisBackplane(o => o.Configuration = settings.ConnectionString);
                break;
        }

        // With durable storage, secrets that are not configured are kept in files of their own (not in the database): the
        // pepper, so a stolen database alone cannot link a sticker to its owner, and the JWT signing key, so owners stay
        // signed in across restarts. In memory nothing outlives the process, so a random key per process is right.
        var durable = settings.Storage != "memory";
        var keysPath = builder.Configuration["QrCalling:Sample:KeysPath"] ?? Path.Combine(builder.Environment.ContentRootPath, "App_Data", "keys");
        if (durable)
        {
            qrCalling.UsePepperFile(Path.Combine(keysPath, "qrcalling-pepper"));
        }

        // Owner accounts and their JWT bearer tokens.
        var keyBytes = settings.JwtKey is not null ? Encoding.UTF8.GetBytes(settings.JwtKey)
            : durable ? Encoding.UTF8.GetBytes(QrCallingSecretFileExtensions.LoadOrCreateSecret(Path.Combine(keysPath, "jwt-signing-key")))
            : RandomNumberGenerator.GetBytes(32);
        var signingKey = new SymmetricSecurityKey(keyBytes);
        services.AddSingleton(sp => new SampleTokenIssuer(signingKey, sp.GetRequiredService<TimeProvider>(), settings.JwtIssuer, settings.JwtAudience));
        services.AddSingleton<AccountSecurity>();
        // Accounts live with the selected storage: a table in PostgreSQL, hashes in Redis, a dictionary in memory.
        services.AddSingleton<IAccountStore>(_ => settings.Storage switch
        {
            "postgres" => new PostgresAccountStore(settings.ConnectionString!),
            "redis" => new RedisAccountStore(settings.ConnectionString!),
            _ => new InMemoryAccountStore(),
        });
        services.AddSingleton<IPasswordHasher<SampleAccount>, PasswordHasher<SampleAccount>>();
        services.AddSingleton(sp => new RevokedTokens(TimeProvider.System));
        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.JwtIssuer,
                ValidAudience = settings.JwtAudience,
                IssuerSigningKey = signingKey,
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            o.Events = new JwtBearerEvents
            {
                OnMessageReceived = ReadOwnerToken,
                // A token revoked by sign-out no longer authenticates (nor can it get hub tickets), nor one issued before the
                // account's generation moved on (sign-out everywhere, password change) or of a deleted account. The hub
                // checks this at connect: its connections need a hub ticket or a token, both checked here.
                OnTokenValidated = async context =>
                {
                    var revoked = context.HttpContext.RequestServices.GetRequiredService<RevokedTokens>();
                    if (revoked.IsRevoked(context.Principal?.FindFirst(Microsoft.IdentityModel.JsonWebTokens.JwtRegisteredClaimNames.Jti)?.Value))
                    {
                        context.Fail("The access token was revoked.");
                        return;
                    }
                    var ownerId = context.Principal?.FindFirst(System.Security.Claims.ClaimTypes.NameIdentifier)?.Value;
                    var store = context.HttpContext.RequestServices.GetRequiredService<IAccountStore>();
                    // An account the store does not know and that was not deleted (an in-memory host after a restart, which
                    // forgets its accounts) keeps its tokens until they expire, as before generations existed.
                    var aborted = context.HttpContext.RequestAborted;
                    var account = ownerId is null ? null : await store.FindByIdAsync(ownerId, aborted);
                    if (ownerId is null
                        || (account is null && await store.IsDeletedAsync(ownerId, aborted))
                        || (account is not null && account.Generation != SampleTokenIssuer.Generation(context.Principal!.Identity as System.Security.Claims.ClaimsIdentity)))
                    {
                        context.Fail("The access token was revoked.");
                        return;
                    }
                    if (context.Request.Path.StartsWithSegments(HubPath))
                    {
                        // A hub connection holds its principal for as long as it stays open: keep only what the hub reads
                        // (the owner id and exp), not the token's every claim and the parsed token behind them (about 4 KB
                        // per idle device; docs/operations.md, "Idle hub connections").
                        context.Principal = SlimPrincipal(context.Principal!, ownerId);
                    }
                },
            };
        });
        // Token lifetimes are checked against the host's TimeProvider (the tests' FakeTimeProvider too), like every other
        // time in the host.
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<TimeProvider>((o, time) =>
            o.TokenValidationParameters.LifetimeValidator = (notBefore, expires, _, parameters) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return expires is { } e && now < e + parameters.ClockSkew && (notBefore is not { } n || now >= n - parameters.ClockSkew);
            });
        services.AddAuthorization();

        // Behind a TLS proxy every request comes from the proxy: trust its X-Forwarded-For/-Proto, and only from the
        // configured proxies, so that the rate limits (QrCalling's and the account limiter) key on the real client.
        if (settings.TrustsForwardedHeaders)
        {
            services.Configure<ForwardedHeadersOptions>(o =>
            {
                o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
                // Only what is configured: not the defaults (loopback), which would trust any local process.
                o.KnownProxies.Clear();
                o.KnownIPNetworks.Clear();
                foreach (var proxy in settings.KnownProxies)
                {
                    o.KnownProxies.Add(proxy);
                }
                foreach (var network in settings.KnownNetworks)
                {
                    o.KnownIPNetworks.Add(network);
                }
            });
        }
        // The admin console (issue 13): runtime settings kept in the store drive QrCalling (maintenance, call duration).
        services.AddSampleAdmin(builder.Configuration, settings);
        qrCalling.UseRuntimeSettings(sp => sp.GetRequiredService<AdminRuntime>());
        var publicPermits = AdminConsoleSettings.From(builder.Configuration).PublicPermitsPerMinute;
        services.AddRateLimiter(o =>
        {
            o.AddPolicy(AccountEndpoints.RateLimitPolicy, new AccountRateLimitPolicy(settings.AccountPermitsPerMinute));
            o.AddPolicy(AdminEndpoints.PublicPolicy, new AccountRateLimitPolicy(publicPermits));
        });
        services.AddProblemDetails();
        // A body that is not JSON or not well-formed becomes a 400/415 status (answered by SampleProblems), not an exception.
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = false);
        // The OpenAPI document with QrCalling's bearer schemes, hub description, examples and exact schemas.
        services.AddQrCallingOpenApi();
        // OpenTelemetry: a Prometheus scrape endpoint and/or OTLP, only when configured (docs/operations.md, "Telemetry").
        telemetry.AddTo(services);

        var app = builder.Build();
        if (settings.TrustsForwardedHeaders)
        {
            app.UseForwardedHeaders(); // First: everything after it sees the client's address and scheme.
        }
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = SampleProblems.WriteExceptionAsync });
        app.UseStatusCodePages(SampleProblems.WriteStatusAsync);
        app.Use(SecurityHeaders);
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(AdminEndpoints.RegistrationGateAsync);

        app.MapOpenApi();
        // Serves /scalar with its JavaScript embedded in the package: no CDN, no web fonts, no telemetry, no AI agent, and a
        // fresh nonce on its inline script for the Content-Security-Policy (see SecurityHeaders).
        app.MapScalarApiReference(o => o.WithNonce().DisableDefaultFonts().DisableTelemetry().DisableAgent().DisableMcp());
        app.MapQrCalling(); // On a WebApplication this also adds the rate limiter middleware (used by the account endpoints too).
        app.MapSampleAccounts();
        app.MapSampleAccountManagement();
        telemetry.MapTo(app);
        app.MapSampleAdmin();
        app.MapGet("/c", (IWebHostEnvironment env) => Results.Stream(env.WebRootFileProvider.GetFileInfo("caller.html").CreateReadStream(), "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        // The room page a room link opens (issue 12): the room id and secret stay in the fragment.
        app.MapGet("/room", (IWebHostEnvironment env) => Results.Stream(env.WebRootFileProvider.GetFileInfo("room.html").CreateReadStream(), "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        // The page a new device opens from a pairing QR (the payload stays in the fragment).
        app.MapGet("/pair", (IWebHostEnvironment env) => Results.Stream(env.WebRootFileProvider.GetFileInfo("pair.html").CreateReadStream(), "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        // The owner page, opened from a delegate invitation (the payload stays in the fragment; the page accepts it once signed in).
        app.MapGet("/delegate", (IWebHostEnvironment env) => Results.Stream(env.WebRootFileProvider.GetFileInfo("index.html").CreateReadStream(), "text/html; charset=utf-8"))
            .ExcludeFromDescription();
        return app;
    }

    /// <summary>Owner JWTs come as <c>Authorization: Bearer</c>, or as <c>?access_token=</c> on the hub (WebSockets cannot
    /// send headers). Call tokens (<c>qct_…</c>) are the hosting package's business: this handler ignores them.</summary>
    private static System.Security.Claims.ClaimsPrincipal SlimPrincipal(System.Security.Claims.ClaimsPrincipal principal, string ownerId)
    {
        List<System.Security.Claims.Claim> claims = [new(System.Security.Claims.ClaimTypes.NameIdentifier, ownerId)];
        if (principal.FindFirst(Microsoft.IdentityModel.JsonWebTokens.JwtRegisteredClaimNames.Exp) is { } exp)
        {
            claims.Add(new(exp.Type, exp.Value));
        }
        return new(new System.Security.Claims.ClaimsIdentity(claims, principal.Identity?.AuthenticationType));
    }

    private static Task ReadOwnerToken(MessageReceivedContext context)
    {
        var request = context.Request;
        string? header = request.Headers.Authorization;
        // Call tokens (qct_), hub tickets (qht_), paired devices' tokens (qdt_) and room participants' tokens (qrp_) are
        // QrCalling's, not JWTs.
        if (header is not null && (header.StartsWith("Bearer qct_", StringComparison.OrdinalIgnoreCase) || header.StartsWith("Bearer qht_", StringComparison.OrdinalIgnoreCase)
            || header.StartsWith("Bearer qdt_", StringComparison.OrdinalIgnoreCase) || header.StartsWith("Bearer qrp_", StringComparison.OrdinalIgnoreCase)))
        {
            context.NoResult();
            return Task.CompletedTask;
        }
        string? query = request.Query["access_token"];
        if (header is null && !string.IsNullOrEmpty(query) && request.Path.StartsWithSegments(HubPath))
        {
            if (query.StartsWith("qct_", StringComparison.Ordinal) || query.StartsWith("qht_", StringComparison.Ordinal) || query.StartsWith("qdt_", StringComparison.Ordinal)
                || query.StartsWith("qrp_", StringComparison.Ordinal))
            {
                context.NoResult();
            }
            else
            {
                context.Token = query;
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>The web app's pages (and every other response): scripts, styles and connections from this origin only
    /// (SignalR's WebSocket included: <c>connect-src 'self'</c> covers ws:/wss: to the same host), no inline scripts, no
    /// framing, no referrer.</summary>
    internal const string PageCsp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
        "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; " +
        "object-src 'none'; frame-ancestors 'none'; " +
        "base-uri 'none'; form-action 'self'";

    /// <summary>The OpenAPI document is data: nothing in it may load or run.</summary>
    internal const string DocumentCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    /// <summary>Scalar's page (/scalar only): its inline start-up script by the per-request nonce Scalar puts on it, and the
    /// styles it injects at run time ('unsafe-inline' for styles only); everything else as strict as the web app.</summary>
    internal static string ScalarCsp(string? nonce) =>
        $"default-src 'self'; script-src 'self'{(nonce is null ? "" : $" 'nonce-{nonce}'")}; style-src 'self' 'unsafe-inline'; " +
        "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; " +
        "base-uri 'none'; form-action 'self'";

    private static Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        var path = context.Request.Path;
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        if (path.StartsWithSegments("/scalar"))
        {
            headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()";
            // Scalar makes the nonce while it renders the page: the header is written when the response starts.
            context.Response.OnStarting(() =>
            {
                var nonce = context.Items.TryGetValue(ScalarOptions.NonceHttpContextItemKey, out var value) ? value as string : null;
                context.Response.Headers.ContentSecurityPolicy = ScalarCsp(nonce);
                return Task.CompletedTask;
            });
        }
        else
        {
            headers.ContentSecurityPolicy = path.StartsWithSegments("/openapi") ? DocumentCsp : PageCsp;
            headers["Permissions-Policy"] = "camera=(self), microphone=(self), geolocation=()";
        }
        return next();
    }
}
