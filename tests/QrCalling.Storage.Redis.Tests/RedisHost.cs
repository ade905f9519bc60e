using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QrCalling.Testing;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>One host instance on a TestServer: AddQrCalling().UseRedisStorage().UseRedisBackplane(), MapQrCalling.</summary>
internal sealed class RedisHost : IAsyncDisposable
{
    private readonly List<HubConnection> _connections = [];
    private bool _stopped;

    private RedisHost(WebApplication app, CapturingLoggerProvider logs)
    {
        App = app;
        Logs = logs;
        Server = app.GetTestServer();
    }

    public WebApplication App { get; }
    public TestServer Server { get; }
    public CapturingLoggerProvider Logs { get; }

    public static async Task<RedisHost> StartAsync(string redis, string keyPrefix, string channelPrefix)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.Configuration["AllowedHosts"] = "localhost;127.0.0.1"; // links come from the Host header (no PublicBaseUrl)
        builder.WebHost.UseTestServer();
        var logs = new CapturingLoggerProvider();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        TestOwnerHandler.Register(builder.Services);
        builder.Services.AddQrCalling(o => o.SweepInterval = TimeSpan.FromSeconds(1))
            .UseRedisStorage(o =>
            {
                o.Configuration = redis;
                o.KeyPrefix = keyPrefix;
            })
            .UseRedisBackplane(o => o.ChannelPrefix = channelPrefix);
        var app = builder.Build();
        app.Use((context, next) =>
        {
            context.Connection.RemoteIpAddress = IPAddress.Loopback;
            return next();
        });
        app.MapQrCalling();
        await app.StartAsync();
        return new RedisHost(app, logs);
    }

    public HttpClient Client(string? owner = null)
    {
        var client = Server.CreateClient();
        if (owner is not null)
        {
            client.DefaultRequestHeaders.Add(TestOwnerHandler.HeaderName, owner);
        }
        return client;
    }

    public async Task<HubEventRecorder> ConnectAsync(string? owner = null, string? deviceId = null, string? callToken = null)
    {
        var query = new List<string>();
        if (owner is not null) query.Add("owner=" + Uri.EscapeDataString(owner));
        if (deviceId is not null) query.Add("deviceId=" + Uri.EscapeDataString(deviceId));
        if (callToken is not null) query.Add("access_token=" + Uri.EscapeDataString(callToken));
        var url = new Uri(Server.BaseAddress, "/hubs/calls?" + string.Join('&', query));
        var server = Server;
        var connection = new HubConnectionBuilder()
            .WithUrl(url, o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                o.WebSocketFactory = async (context, cancellationToken) => await server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
            })
            .Build();
        var recorder = new HubEventRecorder(connection);
        _connections.Add(connection);
        await HubConnectionStarter.StartAsync(connection);
        return recorder;
    }

    /// <summary>Stops the instance (its hub connections drop).</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }
        _stopped = true;
        await App.StopAsync();
        foreach (var connection in _connections)
        {
            try { await connection.DisposeAsync(); } catch (Exception) { /* already closed */ }
        }
        await App.DisposeAsync();
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

internal static class HttpJson
{
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != expected)
        {
            throw new Xunit.Sdk.XunitException($"Expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        }
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<JsonElement> PostJsonAsync(this HttpClient client, string url, object body, HttpStatusCode expected) =>
        await (await client.PostAsJsonAsync(url, body)).ReadJsonAsync(expected);
}
