using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>A code flooded with calls asks new callers for a proof of work (429 <c>proof_required</c>); the caller page
/// solves it and gets through instead of showing an error.</summary>
[Collection(BrowserCollection.Name)]
public sealed class BusyCodeTests(BrowserFixture browser)
{
    [Fact]
    public async Task CodeOverItsBudget_CallerPageSolvesTheProofOfWork_AndTheCallRings()
    {
        // The host trusts 127.0.0.1 as a proxy, so the flood below can come "from" other addresses.
        await using var server = await SampleHostServer.StartAsync(
            "--QrCalling:Sample:KnownProxies=127.0.0.1",
            "--QrCalling:RateLimits:CallsPerClient=3",
            "--QrCalling:RateLimits:CallsPerCode=3",
            "--QrCalling:RateLimits:ProofOfWorkBits=10");
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        // (Chromium logs the 429 answer itself on the console; what counts is that no script error escapes.)
        var pageErrors = new List<string>();
        caller.PageError += (_, e) => pageErrors.Add(e);
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Popular", "chat");
        await caller.GotoAsync(link);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Popular");

        var payload = link[(link.IndexOf('#', StringComparison.Ordinal) + 1)..];
        var challenged = 0;
        for (var i = 0; i < 6; i++)
        {
            using var flood = new HttpRequestMessage(HttpMethod.Post, $"{server.BaseUrl}/api/v1/calls")
            {
                Content = JsonContent.Create(new { payload, media = "chat" }),
            };
            flood.Headers.Add("X-Forwarded-For", $"198.51.100.{i + 1}");
            using var http = new HttpClient();
            using var response = await http.SendAsync(flood);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.Equal("proof_required", problem.GetProperty("code").GetString());
                challenged++;
            }
        }
        Assert.Equal(3, challenged);

        await caller.GetByTestId("call-chat").ClickAsync();

        await Expect(caller.GetByTestId("call-state")).ToHaveTextAsync("Ringing…", new() { Timeout = 20_000 });
        Assert.True(await caller.EvaluateAsync<int>("() => window.qrcallingDebug.proofs") >= 1);
        await Expect(caller.GetByTestId("code-error")).ToBeEmptyAsync();
        Assert.Empty(pageErrors);
    }
}
