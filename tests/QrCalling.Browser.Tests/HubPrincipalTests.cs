using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>An owner device connected to the hub with its access token (a JWT, as the .NET client may) keeps only the
/// owner id and <c>exp</c> of its principal for as long as the connection is open (docs/operations.md, "Idle hub
/// connections"), while REST requests with the same token keep every claim (sign-out needs the token's id).</summary>
public sealed class HubPrincipalTests
{
    [Fact]
    public async Task OwnerHubConnectionWithAJwt_KeepsOnlyOwnerIdAndExp_RestKeepsEveryClaim()
    {
        var seen = new ConcurrentQueue<string[]>();
        await using var server = await SampleHostServer.StartAsync(builder =>
            builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordClaims(seen))));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = timeout.Token;
        using var http = new HttpClient { BaseAddress = new Uri(server.BaseUrl) };
        var user = new { username = "slim" + Guid.NewGuid().ToString("N")[..12], password = "correct horse battery" };
        (await http.PostAsJsonAsync("/api/v1/account/register", user, ct)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", user, ct);
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("accessToken").GetString()!;

        await using var hub = new HubConnectionBuilder()
            .WithUrl(server.BaseUrl + "/hubs/calls?deviceId=slim-device", o => o.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await hub.StartAsync(ct);
        await hub.InvokeAsync("Resume", "c_unknown", 0L, ct).ContinueWith(_ => { }, ct); // any invocation: the filter sees the principal

        var claims = Assert.Single(seen);
        Assert.Equal([ClaimTypes.NameIdentifier, "exp"], claims);

        // The same token on REST: the full principal, so sign-out (which needs the token's id) works.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/account/logout");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var logout = await http.SendAsync(request, ct);
        Assert.True(logout.IsSuccessStatusCode, $"logout: {(int)logout.StatusCode}");
    }

    private sealed class RecordClaims(ConcurrentQueue<string[]> seen) : IHubFilter
    {
        public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
        {
            if (invocationContext.Hub.GetType().Name == "CallHub")
            {
                seen.Enqueue([.. invocationContext.Context.User!.Claims.Select(c => c.Type)]);
            }
            return next(invocationContext);
        }
    }
}
