namespace QrCalling.Hosting.Internal;

/// <summary>Which push endpoints the server may POST to: those under a configured prefix (scheme, host or
/// <c>*.</c>-subdomain, port, path prefix). Compared on the parsed URL, never as text, so
/// <c>https://fcm.googleapis.com.evil.example/</c> or <c>https://user@fcm.googleapis.com/</c> do not pass.</summary>
internal sealed class PushEndpointPolicy
{
    internal sealed record Prefix(string Scheme, string Host, bool AnySubdomain, int Port, string Path);

    private readonly Prefix[] _prefixes;

    public PushEndpointPolicy(IEnumerable<string> prefixes) =>
        _prefixes = [.. prefixes.Select(p => TryParsePrefix(p) ?? throw new ArgumentException("Not a push endpoint prefix.", nameof(prefixes)))];

    /// <summary>A prefix <c>scheme://host[:port]/path</c> (http or https; host may be <c>*.domain</c>), or null.</summary>
    public static Prefix? TryParsePrefix(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        text = text.Trim();
        var anySubdomain = false;
        var schemeEnd = text.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd > 0 && text.AsSpan(schemeEnd + 3).StartsWith("*."))
        {
            anySubdomain = true;
            text = text[..(schemeEnd + 3)] + text[(schemeEnd + 5)..];
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
            || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.Host.Length == 0
            || (anySubdomain && uri.HostNameType != UriHostNameType.Dns))
        {
            return null;
        }
        return new Prefix(uri.Scheme, uri.IdnHost.ToLowerInvariant(), anySubdomain, uri.Port, uri.AbsolutePath);
    }

    /// <summary>True when <paramref name="endpoint"/> is an absolute http(s) URL under one of the prefixes.</summary>
    public bool IsAllowed(string? endpoint)
    {
        if (endpoint is null || endpoint.Length > 2048 || !Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || uri.UserInfo.Length > 0 || uri.Fragment.Length > 0)
        {
            return false;
        }
        var host = uri.IdnHost.ToLowerInvariant();
        foreach (var p in _prefixes)
        {
            var hostMatches = p.AnySubdomain
                ? host.Length > p.Host.Length + 1 && host.EndsWith("." + p.Host, StringComparison.Ordinal)
                : host == p.Host;
            if (hostMatches && uri.Scheme == p.Scheme && uri.Port == p.Port && uri.AbsolutePath.StartsWith(p.Path, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>What a log may say about an endpoint: its origin (the push service), never the path, which is the
    /// subscription's capability.</summary>
    public static string ServiceOf(string endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? uri.Scheme + "://" + uri.IdnHost + (uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            : "(not a URL)";
}
