using System.Net;
using System.Text;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Cross-site use of the hub and the REST API: web origins on hub requests, non-JSON bodies.</summary>
public sealed class CrossSiteTests
{
    private static HttpRequestMessage Negotiate(string? origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/calls/negotiate?negotiateVersion=1&owner=alice");
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }
        return request;
    }

    [Theory]
    [InlineData(null, HttpStatusCode.OK)]
    [InlineData("http://localhost", HttpStatusCode.OK)]            // the host's own origin
    [InlineData("https://app.example.org", HttpStatusCode.OK)]     // listed in CorsOrigins
    [InlineData("https://call.example.org", HttpStatusCode.OK)]    // the PublicBaseUrl's origin
    [InlineData("https://evil.example", HttpStatusCode.Forbidden)]
    [InlineData("null", HttpStatusCode.Forbidden)]                 // sandboxed frames and file: pages
    public async Task HubNegotiate_FromAWebOrigin_OnlyOwnOrAllowedOriginsPass(string? origin, HttpStatusCode expected)
    {
        await using var host = await TestHost.StartAsync(
            core: o => o.PublicBaseUrl = "https://call.example.org/c",
            hosting: o => o.CorsOrigins.Add("https://app.example.org"));

        var response = await host.Client().SendAsync(Negotiate(origin));

        Assert.Equal(expected, response.StatusCode);
        if (expected == HttpStatusCode.Forbidden)
        {
            await response.AssertProblemAsync(HttpStatusCode.Forbidden, "origin_not_allowed");
        }
    }

    [Fact]
    public async Task HubWebSocket_FromAnotherSite_IsRefusedBeforeTheUpgrade()
    {
        await using var host = await TestHost.StartAsync();
        var evil = host.Server.CreateWebSocketClient();
        evil.ConfigureRequest = r => r.Headers.Origin = "https://evil.example";
        var own = host.Server.CreateWebSocketClient();
        own.ConfigureRequest = r => r.Headers.Origin = "http://localhost";
        var url = new Uri(host.Server.BaseAddress, "/hubs/calls?owner=alice").ToString().Replace("http://", "ws://", StringComparison.Ordinal);

        await Assert.ThrowsAnyAsync<Exception>(() => evil.ConnectAsync(new Uri(url), CancellationToken.None));
        using var ok = await own.ConnectAsync(new Uri(url), CancellationToken.None);

        Assert.Equal(System.Net.WebSockets.WebSocketState.Open, ok.State);
    }

    [Theory]
    [InlineData("/api/v1/codes", "text/plain")]
    [InlineData("/api/v1/scan", "application/x-www-form-urlencoded")]
    [InlineData("/api/v1/calls", "multipart/form-data; boundary=x")]
    [InlineData("/api/v1/qr", "text/plain")]
    public async Task NonJsonBody_Is415WithCode(string route, string contentType)
    {
        await using var host = await TestHost.StartAsync();
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"payload":"x","label":"x"}"""));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await host.Client(owner: "alice").PostAsync(route, content);

        await response.AssertProblemAsync(HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
    }
}
