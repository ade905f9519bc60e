using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

using QrCalling.Testing;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>A real QrCalling host on the test server: AddQrCalling().UsePostgresStorage + MapQrCalling, with a test
/// authentication scheme where the header <c>X-Test-Owner</c> names the owner.</summary>
internal sealed class TestHost : IAsyncDisposable
{
    public const string OwnerHeader = TestOwnerHandler.HeaderName;
    private readonly WebApplication _app;

    private TestHost(WebApplication app)
    {
        _app = app;
        Client = app.GetTestClient();
    }

    public HttpClient Client { get; }

    public static async Task<TestHost> StartAsync(string connectionString, string schema)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["AllowedHosts"] = "localhost"; // links come from the Host header (no PublicBaseUrl)
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        TestOwnerHandler.Register(builder.Services);
        builder.Services.AddAuthorization();
        builder.Services.AddQrCalling(o => o.Pepper = "durable-pepper-0123456789", h => h.OwnerAuthenticationSchemes.Add(TestOwnerHandler.SchemeName))
            .UsePostgresStorage(o =>
            {
                o.ConnectionString = connectionString;
                o.Schema = schema;
                o.CommandTimeout = TimeSpan.FromSeconds(3);
                o.ConnectTimeout = TimeSpan.FromSeconds(2);
            });
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapQrCalling();
        await app.StartAsync();
        return new TestHost(app);
    }

    public HttpRequestMessage Owner(HttpMethod method, string path, object? body = null, string owner = "owner-1")
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(OwnerHeader, owner);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        return request;
    }

    public async Task<string> IssueCodeAsync(string label = "Front door")
    {
        using var response = await Client.SendAsync(Owner(HttpMethod.Post, "/api/v1/codes", new { label }));
        response.EnsureSuccessStatusCode();
        return (await ReadJsonAsync(response)).GetProperty("payload").GetString()!;
    }

    public async Task<string> StartCallAsync(string payload)
    {
        using var response = await Client.PostAsJsonAsync("/api/v1/calls", new { payload, media = "audio" });
        response.EnsureSuccessStatusCode();
        return (await ReadJsonAsync(response)).GetProperty("callId").GetString()!;
    }

    public async Task<List<string>> HistoryCallIdsAsync()
    {
        using var response = await Client.SendAsync(Owner(HttpMethod.Get, "/api/v1/calls"));
        response.EnsureSuccessStatusCode();
        return [.. (await ReadJsonAsync(response)).EnumerateArray().Select(c => c.GetProperty("callId").GetString()!)];
    }

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
