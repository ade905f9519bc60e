using System.Globalization;
using System.Net;
using System.Text.Json;
using QrCalling.Hosting.Internal;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>A code over its per-code budget asks for a proof of work instead of refusing: a flood from a few
/// addresses cannot keep its owner unreachable.</summary>
public sealed class ProofOfWorkTests
{
    private static string Solve(string challenge, int difficulty)
    {
        for (var i = 0L; ; i++)
        {
            var solution = i.ToString(CultureInfo.InvariantCulture);
            if (ProofOfWork.Solves(challenge, solution, difficulty))
            {
                return solution;
            }
        }
    }

    private static Task<HttpResponseMessage> StartAsync(HttpClient client, string payload, object? proof = null) =>
        client.PostAsync("/api/v1/calls", Http.Json(new { payload, media = "audio", proof }));

    [Fact]
    public async Task Flood_FromThreeAddresses_KeepsTheCodeOverBudget_ARealCallerStillGetsThroughWithAProof()
    {
        await using var host = await TestHost.StartAsync(hosting: o =>
        {
            o.RateLimits.CallsPerClient = 6;
            o.RateLimits.CallsPerCode = 6;
            o.RateLimits.ProofOfWorkBits = 8;
        });
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var flooders = new[] { "198.51.100.1", "198.51.100.2", "198.51.100.3" }.Select(ip => host.Client(remoteIp: ip)).ToArray();

        // The flood uses up the code's budget and then gets challenges it does not solve.
        var statuses = new List<HttpStatusCode>();
        JsonElement lastChallenge = default;
        for (var i = 0; i < 18; i++) // each address's own per-client budget: 6
        {
            var response = await StartAsync(flooders[i % 3], payload);
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                lastChallenge = await response.ReadJsonAsync();
                Assert.Equal("proof_required", lastChallenge.GetProperty("code").GetString());
            }
        }
        Assert.Equal(6, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.True(lastChallenge.GetProperty("difficulty").GetInt32() > 8, "the difficulty grows with the pressure on the code");

        // A real caller from another address: challenged, solves it, gets through.
        var caller = host.Client(remoteIp: "203.0.113.50");
        var challenged = await StartAsync(caller, payload);
        Assert.Equal(HttpStatusCode.TooManyRequests, challenged.StatusCode);
        var body = await challenged.ReadJsonAsync();
        var challenge = body.GetProperty("challenge").GetString()!;
        var solution = Solve(challenge, body.GetProperty("difficulty").GetInt32());
        var admitted = await StartAsync(caller, payload, new { challenge, solution });
        Assert.Equal(HttpStatusCode.Created, admitted.StatusCode);

        // The same proof twice, a wrong solution, or a proof for another code: challenged again.
        var replay = await StartAsync(host.Client(remoteIp: "203.0.113.51"), payload, new { challenge, solution });
        await replay.AssertProblemAsync(HttpStatusCode.TooManyRequests, "proof_required");
        var fresh = await (await StartAsync(caller, payload)).ReadJsonAsync();
        var wrong = await StartAsync(caller, payload, new { challenge = fresh.GetProperty("challenge").GetString(), solution = "not-it" });
        await wrong.AssertProblemAsync(HttpStatusCode.TooManyRequests, "proof_required");
        var otherPayload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var otherChallenge = fresh.GetProperty("challenge").GetString()!;
        var crossCode = await StartAsync(caller, payload, new { challenge = otherChallenge, solution = Solve(otherChallenge, fresh.GetProperty("difficulty").GetInt32()) });
        Assert.Equal(HttpStatusCode.Created, crossCode.StatusCode); // a proof for this code, solved: admitted
        Assert.Equal(HttpStatusCode.Created, (await StartAsync(caller, otherPayload)).StatusCode); // the other code is not under pressure
    }
}
