using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace QrCalling.Testing;

/// <summary>The owner authentication of the test hosts: the header <c>X-Test-Owner: alice</c> or, on the hub,
/// <c>?owner=alice</c> makes the request alice's (NameIdentifier claim), standing in for a host's own login.</summary>
public sealed class TestOwnerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme name.</summary>
    public const string SchemeName = "TestOwner";
    /// <summary>The request header naming the owner.</summary>
    public const string HeaderName = "X-Test-Owner";
    /// <summary>The query parameter naming the owner (hub connections).</summary>
    public const string QueryName = "owner";

    /// <summary>Registers the scheme as the default authentication.</summary>
    public static void Register(IServiceCollection services) =>
        services.AddAuthentication(SchemeName).AddScheme<AuthenticationSchemeOptions, TestOwnerHandler>(SchemeName, null);

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var owner = Request.Headers[HeaderName].ToString();
        if (owner.Length == 0)
        {
            owner = Request.Query[QueryName].ToString();
        }
        if (owner.Length == 0)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, owner)], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }
}
