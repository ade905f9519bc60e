using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace QrCalling.Testing;

/// <summary><c>Authorization: Bearer test-owner-alice</c> is alice (NameIdentifier); anything else is anonymous.</summary>
public sealed class BearerOwnerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "TestBearerOwner";
    /// <summary>The bearer token prefix; the rest is the owner id.</summary>
    public const string Prefix = "test-owner-";

    /// <summary>Registers the scheme as the default authentication.</summary>
    public static void Register(IServiceCollection services) =>
        services.AddAuthentication(SchemeName).AddScheme<AuthenticationSchemeOptions, BearerOwnerHandler>(SchemeName, null);

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer " + Prefix, StringComparison.Ordinal))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var owner = header[("Bearer " + Prefix).Length..];
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, owner)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
