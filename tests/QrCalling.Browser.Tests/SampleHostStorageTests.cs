using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>The sample host on real PostgreSQL and Redis (QrCalling:Storage=postgres|redis, as a deployment would run it):
/// accounts, codes and call history outlive a restart of the host.</summary>
public sealed class SampleHostStorageTests
{
    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task SampleHost_RealStorageAndARestart_KeepsAccountCodeAndCallHistory(string storage)
    {
        var (key, connection) = storage == "postgres" ? ("Postgres", TestServers.Postgres) : ("Redis", TestServers.Redis);
        string[] settings = [$"--QrCalling:Storage={storage}", $"--ConnectionStrings:{key}={connection}"];
        var user = new { username = "store" + Guid.NewGuid().ToString("N")[..12], password = "correct horse battery" };
        string payload, codeId, callId;

        await using (var first = await SampleHostServer.StartAsync(settings))
        {
            using var http = new HttpClient { BaseAddress = new Uri(first.BaseUrl) };
            using var register = await http.PostAsJsonAsync("/api/v1/account/register", user);
            Assert.Equal(HttpStatusCode.Created, register.StatusCode);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await LoginAsync(http, user));
            using var created = await http.PostAsJsonAsync("/api/v1/codes", new { label = "Parked van " + storage, media = new[] { "audio", "chat" } });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var code = await created.Content.ReadFromJsonAsync<JsonElement>();
            payload = code.GetProperty("payload").GetString()!;
            codeId = code.GetProperty("id").GetString()!;
            using var started = await http.PostAsJsonAsync("/api/v1/calls", new { payload, media = "audio" });
            Assert.Equal(HttpStatusCode.Created, started.StatusCode);
            callId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("callId").GetString()!;
        }

        await using var second = await SampleHostServer.StartAsync(settings);
        using var again = new HttpClient { BaseAddress = new Uri(second.BaseUrl) };
        again.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await LoginAsync(again, user));
        var codes = await again.GetFromJsonAsync<JsonElement>("/api/v1/codes");
        var history = await again.GetFromJsonAsync<JsonElement>("/api/v1/calls");
        using var scan = await again.PostAsJsonAsync("/api/v1/scan", new { payload });

        var kept = Assert.Single(codes.EnumerateArray(), c => c.GetProperty("id").GetString() == codeId);
        Assert.Equal(1, kept.GetProperty("scanCount").GetInt32());
        Assert.Contains(history.EnumerateArray(), c => c.GetProperty("callId").GetString() == callId);
        Assert.Equal(HttpStatusCode.OK, scan.StatusCode);
        Assert.Equal("Parked van " + storage, (await scan.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("label").GetString());
    }

    private static async Task<string> LoginAsync(HttpClient http, object user)
    {
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", user);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        return (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString()!;
    }
}
