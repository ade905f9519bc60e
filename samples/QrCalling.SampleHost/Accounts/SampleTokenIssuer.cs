using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace QrCalling.SampleHost.Accounts;

/// <summary>Issues the sample's JWT access tokens (subject = owner id, which JwtBearer maps to NameIdentifier; claim
/// <c>gen</c> = the account's security generation) and its short-lived MFA tickets (a JWT for another audience, so it
/// is never accepted as an access token).</summary>
public sealed class SampleTokenIssuer
{
    /// <summary>The claim that carries the account generation.</summary>
    public const string GenerationClaim = "gen";

    /// <summary>How long an MFA ticket lasts.</summary>
    public static readonly TimeSpan MfaTicketLifetime = TimeSpan.FromMinutes(5);

    private readonly TimeProvider _time;
    private readonly byte[] _auditKey;

    /// <summary>Creates the issuer.</summary>
    public SampleTokenIssuer(SymmetricSecurityKey key, TimeProvider timeProvider, string issuer = SampleSettings.DefaultJwtName,
        string audience = SampleSettings.DefaultJwtName)
    {
        Key = key;
        _time = timeProvider;
        Issuer = issuer;
        Audience = audience;
        // A key of its own for the audit log's client hashes, derived from the signing key (stable across restarts
        // when the signing key is).
        _auditKey = HMACSHA256.HashData(key.Key, Encoding.ASCII.GetBytes("qrcalling-sample audit client"));
    }

    /// <summary>The signing key (also used to validate).</summary>
    public SymmetricSecurityKey Key { get; }

    /// <summary>The <c>iss</c> of every token.</summary>
    public string Issuer { get; }

    /// <summary>The <c>aud</c> of access tokens.</summary>
    public string Audience { get; }

    /// <summary>The <c>aud</c> of MFA tickets.</summary>
    public string MfaAudience => Audience + "#mfa";

    /// <summary>Issues an access token for an owner id at an account generation.</summary>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string ownerId, long generation = 0) =>
        Create(ownerId, generation, Audience, AccountEndpoints.TokenLifetime);

    /// <summary>Issues an MFA ticket: proof that the password was right, good for <see cref="MfaTicketLifetime"/>.</summary>
    public (string Ticket, DateTimeOffset ExpiresAt) IssueMfaTicket(string ownerId, long generation) =>
        Create(ownerId, generation, MfaAudience, MfaTicketLifetime);

    /// <summary>The owner id and generation of a valid, unexpired MFA ticket; null otherwise.</summary>
    public async Task<(string OwnerId, long Generation)?> ReadMfaTicketAsync(string? ticket)
    {
        if (string.IsNullOrEmpty(ticket) || ticket.Length > 4096)
        {
            return null;
        }
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(ticket, new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = MfaAudience,
            IssuerSigningKey = Key,
            ClockSkew = TimeSpan.Zero,
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } e && _time.GetUtcNow().UtcDateTime < e,
        });
        if (!result.IsValid || result.ClaimsIdentity.FindFirst(JwtRegisteredClaimNames.Sub)?.Value is not { } owner)
        {
            return null;
        }
        return (owner, Generation(result.ClaimsIdentity));
    }

    /// <summary>The generation claim of a principal (0 when absent: tokens issued before generations existed).</summary>
    public static long Generation(ClaimsIdentity? identity) =>
        long.TryParse(identity?.FindFirst(GenerationClaim)?.Value, System.Globalization.CultureInfo.InvariantCulture, out var gen) ? gen : 0;

    /// <summary>A keyed hash of a client address for the audit log: HMAC-SHA256 under a server key, 16 hex characters;
    /// "unknown" without an address. The same address gives the same value, and nobody without the key can tell which
    /// address it was.</summary>
    public string ClientHash(System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return "unknown";
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        return Convert.ToHexStringLower(HMACSHA256.HashData(_auditKey, address.GetAddressBytes()))[..16];
    }

    private (string, DateTimeOffset) Create(string ownerId, long generation, string audience, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        var expiresAt = now + lifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = audience,
            Subject = new ClaimsIdentity([new Claim(JwtRegisteredClaimNames.Sub, ownerId),
                new Claim(GenerationClaim, generation.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new Claim(JwtRegisteredClaimNames.Jti, Convert.ToHexString(RandomNumberGenerator.GetBytes(16)))]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        };
        return (new JsonWebTokenHandler().CreateToken(descriptor), expiresAt);
    }
}
