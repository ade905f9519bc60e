using System.Net;
using System.Text.Json;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Owner endpoints: per-owner rate limits, the live-code cap (racing requests included) and paging.</summary>
public sealed class OwnerQuotaTests
{
    [Fact]
    public async Task LiveCodeCap_TwentyConcurrentCreatesAgainstACapOfFive_ExactlyFiveWin_RevokeFreesASlot_RotateDoesNotCount()
    {
        await using var host = await TestHost.StartAsync(core: o => o.MaxLiveCodesPerOwner = 5);
        var alice = host.Client(owner: "alice");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => alice.PostAsync("/api/v1/codes", Http.Json(new { label = "x" }))));

        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        foreach (var refused in responses.Where(r => r.StatusCode != HttpStatusCode.Created))
        {
            await refused.AssertProblemAsync(HttpStatusCode.Forbidden, "quota_exceeded");
        }
        var first = await responses.First(r => r.StatusCode == HttpStatusCode.Created).ReadJsonAsync();
        var id = first.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Created, (await alice.PostAsync($"/api/v1/codes/{id}/rotate", null)).StatusCode);
        await (await alice.PostAsync("/api/v1/codes", Http.Json(new { label = "y" }))).AssertProblemAsync(HttpStatusCode.Forbidden, "quota_exceeded");
        var codes = await (await alice.GetAsync("/api/v1/codes")).ReadJsonAsync();
        var live = codes.EnumerateArray().First(c => c.GetProperty("revokedAt").ValueKind == JsonValueKind.Null).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await alice.PostAsync($"/api/v1/codes/{live}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await alice.PostAsync("/api/v1/codes", Http.Json(new { label = "z" }))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await host.Client(owner: "bob").PostAsync("/api/v1/codes", Http.Json(new { label = "b" }))).StatusCode);
    }

    [Fact]
    public async Task OwnerEndpoints_PastThePerOwnerBudget_Get429_OtherOwnersDoNot()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.OwnerRequestsPerOwner = 4;
            o.RateLimits.QrRendersPerOwner = 2;
        });
        var alice = host.Client(owner: "alice");
        var code = await alice.IssueCodeAsync();                                   // 1
        var payload = code.GetProperty("payload").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/v1/codes")).StatusCode);   // 2
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/v1/calls")).StatusCode);   // 3
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/v1/codes")).StatusCode);   // 4
        await (await alice.GetAsync("/api/v1/calls")).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        await (await alice.PostAsync($"/api/v1/codes/{code.GetProperty("id").GetString()}/revoke", null)).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");

        // QR rendering has its own, smaller budget.
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await alice.PostAsync("/api/v1/qr", Http.Json(new { payload, format = "svg" }))).StatusCode);
        }
        await (await alice.PostAsync("/api/v1/qr", Http.Json(new { payload, format = "png" }))).AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate_limited");
        Assert.Equal(HttpStatusCode.OK, (await host.Client(owner: "bob").GetAsync("/api/v1/codes")).StatusCode);
    }

    [Fact]
    public async Task ListCodes_Paged_WalksEveryCodeOnceNewestFirst()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var host = await TestHost.StartAsync(time: time);
        var alice = host.Client(owner: "alice");
        var ids = new List<string>();
        for (var i = 0; i < 7; i++)
        {
            ids.Add((await alice.IssueCodeAsync(new { label = $"code {i}" })).GetProperty("id").GetString()!);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        var seen = new List<string>();
        string? before = null;
        for (var page = 0; page < 10; page++)
        {
            var url = "/api/v1/codes?limit=3" + (before is null ? "" : "&before=" + Uri.EscapeDataString(before));
            var items = (await (await alice.GetAsync(url)).ReadJsonAsync()).EnumerateArray().ToList();
            if (items.Count == 0)
            {
                break;
            }
            Assert.True(items.Count <= 3);
            seen.AddRange(items.Select(i => i.GetProperty("id").GetString()!));
            before = items[^1].GetProperty("createdAt").GetString();
        }

        Assert.Equal(Enumerable.Reverse(ids), seen);
        await (await alice.GetAsync("/api/v1/codes?limit=0")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await alice.GetAsync("/api/v1/codes?before=yesterday")).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }
}
