using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace QrCalling.Hosting.Internal;

/// <summary>Without <see cref="QrCallingOptions.PublicBaseUrl"/> the links of new codes are built from the request's
/// <c>Host</c> header, which a misconfigured proxy lets a client choose. Outside Development that is allowed only when the
/// host restricts <c>AllowedHosts</c> (ASP.NET Core's host filtering) to real names; otherwise start-up stops with a
/// message naming the keys. Hosts without an <see cref="IHostEnvironment"/> are not checked.</summary>
internal sealed class PublicBaseUrlValidator(IServiceProvider services) : IValidateOptions<QrCallingOptions>
{
    public ValidateOptionsResult Validate(string? name, QrCallingOptions options)
    {
        if (options.PublicBaseUrl is not null || services.GetService<IHostEnvironment>() is not { } environment || environment.IsDevelopment())
        {
            return ValidateOptionsResult.Success;
        }
        var allowedHosts = services.GetService<IConfiguration>()?["AllowedHosts"] ?? "";
        var hosts = allowedHosts.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return hosts.Length > 0 && !hosts.Contains("*")
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"QrCalling:PublicBaseUrl is required outside Development (environment '{environment.EnvironmentName}'): without it the links of new " +
                "codes are built from the request's Host header. Set QrCalling:PublicBaseUrl (e.g. https://call.example.org/c), or restrict " +
                "AllowedHosts to your host names.");
    }
}
