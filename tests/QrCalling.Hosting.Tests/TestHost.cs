using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QrCalling.Hosting;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>A real ASP.NET Core app on a TestServer with QrCalling mapped, capturing every log line.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _connections = [];

    private TestHost(WebApplication app, CapturingLoggerProvider logs)
    {
        App = app;
        Logs = logs;
        Server = app.GetTestServer();
    }

    public WebApplication App { get; }
    public TestServer Server { get; }
    public CapturingLoggerProvider Logs { get; }

    public static async Task<TestHost> StartAsync(Action<QrCallingOptions>? core = null, Action<QrCallingHostingOptions>? hosting = null,
        TimeProvider? time = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration["AllowedHosts"] = "localhost;127.0.0.1"; // links come from the Host header (no PublicBaseUrl)
        builder.WebHost.UseTestServer();
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("QrCalling", LogLevel.Trace);
        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }
        TestOwnerHandler.Register(builder.Services);
        builder.Services.AddQrCalling(core, hosting);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.Use((context, next) =>
        {
            // The test server has no remote address: 127.0.0.1 unless a test names another one (test host only).
            context.Connection.RemoteIpAddress = IPAddress.TryParse(context.Request.Headers[RemoteIpHeader].ToString(), out var address)
                ? address
                : IPAddress.Loopback;
            return next();
        });
        app.MapQrCalling();
        app.MapOpenApi();
        await app.StartAsync();
        return new TestHost(app, logs);
    }

    /// <summary>A request header that sets the remote address the app sees (only this test host reads it).</summary>
    public const string RemoteIpHeader = "X-Test-Remote-IP";

    public HttpClient Client(string? owner = null, string? bearer = null, string? remoteIp = null)
    {
        var client = Server.CreateClient();
        if (remoteIp is not null)
        {
            client.DefaultRequestHeaders.Add(RemoteIpHeader, remoteIp);
        }
        if (owner is not null)
        {
            client.DefaultRequestHeaders.Add("X-Test-Owner", owner);
        }
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return client;
    }

    /// <summary>A hub client. Callers pass their call token: over WebSockets as <c>?access_token=</c> (as browsers do), over
    /// long polling as the Authorization header (the .NET client's AccessTokenProvider).</summary>
    /// <remarks>By default a refused probe invocation follows the start, so the test knows the server has run
    /// OnConnectedAsync (presence, groups); <paramref name="probe"/> false returns as soon as the handshake is done, as a
    /// plain client would. <paramref name="protocol"/> configures the client's hub protocol (JSON unless it picks another).</remarks>
    public async Task<HubEventRecorder> ConnectAsync(HttpTransportType transport, string? owner = null, string? deviceId = null, string? callToken = null,
        bool skipNegotiation = false, bool probe = true, Action<IHubConnectionBuilder>? protocol = null, string? deviceCredential = null)
    {
        var query = new List<string>();
        if (owner is not null) query.Add("owner=" + Uri.EscapeDataString(owner));
        if (deviceId is not null) query.Add("deviceId=" + Uri.EscapeDataString(deviceId));
        if (deviceCredential is not null) query.Add("deviceCredential=" + Uri.EscapeDataString(deviceCredential));
        if (callToken is not null && transport == HttpTransportType.WebSockets) query.Add("access_token=" + Uri.EscapeDataString(callToken));
        var url = new Uri(Server.BaseAddress, "/hubs/calls" + (query.Count > 0 ? "?" + string.Join('&', query) : ""));
        var builder = new HubConnectionBuilder()
            .WithUrl(url, o =>
            {
                o.Transports = transport;
                o.SkipNegotiation = skipNegotiation;
                o.HttpMessageHandlerFactory = _ => Server.CreateHandler();
                o.WebSocketFactory = async (context, cancellationToken) =>
                    await Server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
                if (callToken is not null && transport != HttpTransportType.WebSockets)
                {
                    o.AccessTokenProvider = () => Task.FromResult<string?>(callToken);
                }
            });
        protocol?.Invoke(builder);
        var connection = builder.Build();
        var client = new HubEventRecorder(connection);
        _connections.Add(connection);
        await HubConnectionStarter.StartAsync(connection, probe);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections)
        {
            try { await c.DisposeAsync(); } catch (Exception) { /* already closed */ }
        }
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

internal static class Http
{
    public static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    public static StringContent Raw(string text) => new(text, Encoding.UTF8, "application/json");

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    public static async Task AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(code, json.GetProperty("code").GetString());
        Assert.Equal((int)status, json.GetProperty("status").GetInt32());
    }

    public static async Task<JsonElement> IssueCodeAsync(this HttpClient owner, object? body = null)
    {
        var response = await owner.PostAsync("/api/v1/codes", Json(body ?? new { label = "Front door" }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    public static async Task<JsonElement> StartCallAsync(this HttpClient anyone, string payload, string media = "video")
    {
        var response = await anyone.PostAsync("/api/v1/calls", Json(new { payload, media }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement;
    }
}

/// <summary>SignalR shows a HubException to clients as "An unexpected error occurred invoking 'X' on the server.
/// HubException: &lt;code&gt;: &lt;detail&gt;"; the server's message (after "HubException: ") starts with the code.</summary>
internal static class HubErrors
{
    public static string CodeOf(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, "HubException: ([a-z_]+): ");
        Assert.True(match.Success, "Not a coded hub error: " + message);
        return match.Groups[1].Value;
    }
}
