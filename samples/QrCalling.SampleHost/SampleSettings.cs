using System.Net;

namespace QrCalling.SampleHost;

/// <summary>The sample host's own settings, read from configuration before the services are registered. Every bad or
/// missing required value becomes a <see cref="SampleConfigurationException"/> whose message is one line naming the key.</summary>
public sealed record SampleSettings
{
    /// <summary>memory, postgres or redis.</summary>
    public required string Storage { get; init; }
    /// <summary>ConnectionStrings:Postgres or ConnectionStrings:Redis, when the storage needs one.</summary>
    public string? ConnectionString { get; init; }
    /// <summary>The JWT signing key (at least 32 characters), or null for a random key per process.</summary>
    public string? JwtKey { get; init; }
    /// <summary>The <c>iss</c> of the sample's access tokens (QrCalling:Sample:JwtIssuer).</summary>
    public string JwtIssuer { get; init; } = DefaultJwtName;
    /// <summary>The <c>aud</c> of the sample's access tokens (QrCalling:Sample:JwtAudience).</summary>
    public string JwtAudience { get; init; } = DefaultJwtName;
    /// <summary>The issuer and audience when none is configured.</summary>
    public const string DefaultJwtName = "qrcalling-sample";
    /// <summary>How many register/login requests one client address may make per minute.</summary>
    public int AccountPermitsPerMinute { get; init; } = 20;
    /// <summary>Reverse proxies whose X-Forwarded-For/-Proto headers are trusted (QrCalling:Sample:KnownProxies).</summary>
    public IReadOnlyList<IPAddress> KnownProxies { get; init; } = [];
    /// <summary>With PostgreSQL storage, the Redis server of the SignalR backplane for several instances
    /// (ConnectionStrings:Redis); null for one instance. Redis storage always uses its own server as backplane.</summary>
    public string? BackplaneConnectionString { get; init; }
    /// <summary>Networks of trusted reverse proxies in CIDR form (QrCalling:Sample:KnownNetworks).</summary>
    public IReadOnlyList<IPNetwork> KnownNetworks { get; init; } = [];
    /// <summary>Whether forwarded headers are honoured: only when a proxy or a network is configured.</summary>
    public bool TrustsForwardedHeaders => KnownProxies.Count > 0 || KnownNetworks.Count > 0;

    /// <summary>Reads and checks the settings.</summary>
    public static SampleSettings From(IConfiguration configuration)
    {
        var storage = (configuration["QrCalling:Storage"] ?? "memory").Trim().ToLowerInvariant();
        if (storage.Length == 0)
        {
            storage = "memory";
        }
        string? connectionString = null;
        switch (storage)
        {
            case "memory":
                break;
            case "postgres":
                connectionString = Required(configuration, "ConnectionStrings:Postgres", "when QrCalling:Storage=postgres");
                break;
            case "redis":
                connectionString = Required(configuration, "ConnectionStrings:Redis", "when QrCalling:Storage=redis");
                break;
            default:
                throw new SampleConfigurationException("QrCalling:Storage must be memory, postgres or redis.");
        }

        // Several instances on PostgreSQL deliver to each other's hub connections through a Redis backplane.
        var backplane = storage == "postgres" && configuration["ConnectionStrings:Redis"] is { Length: > 0 } redis ? redis : null;

        var jwtKey = configuration["QrCalling:Sample:JwtKey"];
        if (jwtKey is not null && jwtKey.Length < 32)
        {
            throw new SampleConfigurationException("QrCalling:Sample:JwtKey must be at least 32 characters (or unset: kept in QrCalling:Sample:KeysPath with durable storage, random per process in memory).");
        }

        var jwtIssuer = JwtName(configuration, "QrCalling:Sample:JwtIssuer");
        var jwtAudience = JwtName(configuration, "QrCalling:Sample:JwtAudience");

        var permits = 20;
        var permitsText = configuration["QrCalling:Sample:AccountPermitsPerMinute"];
        if (permitsText is not null && (!int.TryParse(permitsText, out permits) || permits < 1 || permits > 100_000))
        {
            throw new SampleConfigurationException("QrCalling:Sample:AccountPermitsPerMinute must be a whole number from 1 to 100000.");
        }

        const string proxiesKey = "QrCalling:Sample:KnownProxies", networksKey = "QrCalling:Sample:KnownNetworks";
        var proxies = List(configuration, proxiesKey, "IP addresses, e.g. 10.0.0.5,fd00::5",
            (string text, out IPAddress value) => IPAddress.TryParse(text, out value!) && !text.Contains('/', StringComparison.Ordinal));
        var networks = List(configuration, networksKey, "networks in CIDR form, e.g. 10.0.0.0/8,fd00::/8",
            (string text, out IPNetwork value) => IPNetwork.TryParse(text, out value) && text.Contains('/', StringComparison.Ordinal));

        return new SampleSettings
        {
            Storage = storage,
            ConnectionString = connectionString,
            BackplaneConnectionString = backplane,
            JwtKey = string.IsNullOrEmpty(jwtKey) ? null : jwtKey,
            AccountPermitsPerMinute = permits,
            JwtIssuer = jwtIssuer,
            JwtAudience = jwtAudience,
            KnownProxies = proxies,
            KnownNetworks = networks,
        };
    }

    /// <summary>An issuer or audience: unset means the default; otherwise 1 to 200 visible ASCII characters (a name or an
    /// absolute URI, as a relying party compares it byte for byte).</summary>
    private static string JwtName(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        if (value is null)
        {
            return DefaultJwtName;
        }
        if (value.Length is < 1 or > 200 || !value.All(c => c is > ' ' and <= '~'))
        {
            throw new SampleConfigurationException($"{key} must be 1 to 200 visible ASCII characters without spaces (a name or an absolute URI), or unset for \"{DefaultJwtName}\".");
        }
        return value;
    }

    private delegate bool TryParse<T>(string text, out T value);

    /// <summary>A comma-separated list (also <c>key:0</c>, <c>key:1</c>... from JSON arrays); one bad entry stops start-up.</summary>
    private static List<T> List<T>(IConfiguration configuration, string key, string expected, TryParse<T> parse)
    {
        var texts = (configuration[key] ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Concat(configuration.GetSection(key).GetChildren().Select(c => c.Value?.Trim()).OfType<string>().Where(v => v.Length > 0));
        var values = new List<T>();
        foreach (var text in texts)
        {
            if (!parse(text, out var value))
            {
                throw new SampleConfigurationException($"{key} must be comma-separated {expected}.");
            }
            values.Add(value);
        }
        return values;
    }

    private static string Required(IConfiguration configuration, string key, string when)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new SampleConfigurationException($"{key} is required {when}.");
        }
        return value;
    }
}

/// <summary>A bad or missing setting of the sample host; the message is one line naming the key.</summary>
public sealed class SampleConfigurationException(string message) : Exception(message);
