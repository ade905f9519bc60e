using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting;

/// <summary>Web Push for incoming calls (<c>QrCalling:Push</c>): VAPID keys, the push services the server may POST to,
/// and limits. Registered by <c>AddQrCalling(…).AddWebPush(…)</c> and validated at start-up.</summary>
public sealed class QrCallingPushOptions
{
    /// <summary>The push services of the major browsers (over https), used when
    /// <see cref="AllowedEndpoints"/> is empty: Chrome, Edge's Chromium builds and most Android browsers (FCM), Firefox
    /// (Mozilla autopush), Edge and Windows (WNS), Safari (Apple).</summary>
    public static IReadOnlyList<string> DefaultAllowedEndpoints { get; } =
    [
        "https://fcm.googleapis.com/",
        "https://updates.push.services.mozilla.com/",
        "https://*.notify.windows.com/",
        "https://web.push.apple.com/",
    ];

    /// <summary>The VAPID public key (<c>QrCalling:Push:VapidPublicKey</c>): base64url of the 65-byte uncompressed P-256
    /// point. With <see cref="VapidPrivateKey"/>; when both are empty the server generates a pair once and keeps it in
    /// the storage, so every instance on that storage uses the same.</summary>
    public string? VapidPublicKey { get; set; }

    /// <summary>The VAPID private key (<c>QrCalling:Push:VapidPrivateKey</c>): base64url of the 32-byte P-256 scalar.</summary>
    public string? VapidPrivateKey { get; set; }

    /// <summary>The VAPID <c>sub</c> claim (<c>QrCalling:Push:Subject</c>): a <c>mailto:</c> or <c>https:</c> URL where
    /// the push services can reach the operator. Some services (Apple's) refuse pushes without it.</summary>
    public string? Subject { get; set; }

    /// <summary>URL prefixes of the push services the server may POST to (<c>QrCalling:Push:AllowedEndpoints</c>,
    /// comma-separated or a list); empty for <see cref="DefaultAllowedEndpoints"/>. Each is <c>scheme://host[:port]/path</c>;
    /// the host may start with <c>*.</c> for any subdomain. An endpoint matches when its scheme, host and port are the
    /// same and its path starts with the prefix's path; anything else is refused, so a subscription cannot make the
    /// server call into private networks.</summary>
    public IList<string> AllowedEndpoints { get; } = new List<string>();

    /// <summary>Most subscriptions (browsers, installed apps) per owner (<c>QrCalling:Push:MaxSubscriptionsPerOwner</c>).
    /// Default 10.</summary>
    [Range(1, 1000, ErrorMessage = "QrCalling:Push:MaxSubscriptionsPerOwner must be between 1 and 1000.")]
    public int MaxSubscriptionsPerOwner { get; set; } = 10;

    /// <summary>How long one push may take, connection included (<c>QrCalling:Push:SendTimeout</c>). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:01:00", ErrorMessage = "QrCalling:Push:SendTimeout must be between 1 second and 1 minute.")]
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Incoming calls waiting to be pushed (<c>QrCalling:Push:QueueCapacity</c>); past it new ones are dropped
    /// (and logged), never delaying a call. Default 1000.</summary>
    [Range(1, 1_000_000, ErrorMessage = "QrCalling:Push:QueueCapacity must be between 1 and 1000000.")]
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Pushes sent at once (<c>QrCalling:Push:MaxConcurrentSends</c>). Default 16.</summary>
    [Range(1, 256, ErrorMessage = "QrCalling:Push:MaxConcurrentSends must be between 1 and 256.")]
    public int MaxConcurrentSends { get; set; } = 16;

    /// <summary>The prefixes in force: <see cref="AllowedEndpoints"/>, or the defaults when it is empty.</summary>
    internal IReadOnlyList<string> EffectiveAllowedEndpoints => AllowedEndpoints.Count > 0 ? [.. AllowedEndpoints] : DefaultAllowedEndpoints;
}

[OptionsValidator]
internal sealed partial class QrCallingPushOptionsDataValidator : IValidateOptions<QrCallingPushOptions>
{
}

/// <summary>Rules on the keys and prefixes; every message names the configuration key.</summary>
internal sealed class QrCallingPushOptionsValidator : IValidateOptions<QrCallingPushOptions>
{
    public ValidateOptionsResult Validate(string? name, QrCallingPushOptions options)
    {
        var failures = new List<string>();
        var hasPublic = !string.IsNullOrWhiteSpace(options.VapidPublicKey);
        var hasPrivate = !string.IsNullOrWhiteSpace(options.VapidPrivateKey);
        if (hasPublic != hasPrivate)
        {
            failures.Add("QrCalling:Push:VapidPublicKey and QrCalling:Push:VapidPrivateKey must be set together (or neither, to generate a pair).");
        }
        else if (hasPublic && !Internal.VapidKeys.IsValidPair(options.VapidPublicKey!, options.VapidPrivateKey!))
        {
            failures.Add("QrCalling:Push:VapidPublicKey/VapidPrivateKey must be a P-256 key pair: base64url of the 65-byte uncompressed public point and of the 32-byte private scalar.");
        }
        if (options.Subject is { Length: > 0 } subject
            && !subject.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase)
            && !(Uri.TryCreate(subject, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttps))
        {
            failures.Add("QrCalling:Push:Subject must be a mailto: or https: URL.");
        }
        for (var i = 0; i < options.AllowedEndpoints.Count; i++)
        {
            if (Internal.PushEndpointPolicy.TryParsePrefix(options.AllowedEndpoints[i]) is null)
            {
                failures.Add($"QrCalling:Push:AllowedEndpoints:{i}: '{options.AllowedEndpoints[i]}' is not an http(s) URL prefix (scheme://host[:port]/path, host optionally '*.domain', no query or user info).");
            }
        }
        return failures.Count > 0 ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
