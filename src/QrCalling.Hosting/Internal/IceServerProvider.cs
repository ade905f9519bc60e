using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>One entry of <c>iceServers</c>, the browser's RTCIceServer shape.</summary>
internal sealed record IceServer(
    IReadOnlyList<string> Urls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Username = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Credential = null);

/// <summary>Builds ICE server lists: STUN URLs as configured, TURN with TURN REST API credentials (username
/// <c>&lt;unix-expiry&gt;:&lt;random id&gt;</c>, credential <c>base64(HMAC-SHA1(secret, username))</c>).</summary>
internal sealed class IceServerProvider(IOptions<QrCallingHostingOptions> options, TimeProvider time)
{
    /// <summary>When credentials issued now for something that lives until <paramref name="until"/> expire: after
    /// <see cref="QrCallingTurnOptions.CredentialLifetime"/>, or at <paramref name="until"/> if that is sooner.</summary>
    public DateTimeOffset ExpiryFor(DateTimeOffset until)
    {
        var latest = time.GetUtcNow() + options.Value.Turn.CredentialLifetime;
        return until < latest ? until : latest;
    }

    /// <summary>The ICE servers for a client, TURN credentials valid until <paramref name="expiresAt"/> (see
    /// <see cref="ExpiryFor"/>).</summary>
    public IReadOnlyList<IceServer> Create(DateTimeOffset expiresAt)
    {
        var value = options.Value;
        var servers = new List<IceServer>(2);
        var stun = IceUrls.Split(value.Stun.Urls);
        if (stun.Count > 0)
        {
            servers.Add(new IceServer(stun));
        }
        var turn = IceUrls.Split(value.Turn.Urls);
        if (turn.Count > 0 && !string.IsNullOrEmpty(value.Turn.SharedSecret))
        {
            var username = $"{expiresAt.ToUnixTimeSeconds()}:{Base64UrlId(12)}";
            servers.Add(new IceServer(turn, username, Credential(value.Turn.SharedSecret, username)));
        }
        return servers;
    }

    /// <summary>The TURN REST API credential for a username.</summary>
    public static string Credential(string secret, string username) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));

    private static string Base64UrlId(int bytes) =>
        Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
