using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QrCalling.Hosting.Internal;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Web Push end to end: the server's pushes go over real sockets to a local push service
/// (<see cref="PushReceiver"/>), which checks the VAPID header and decrypts the RFC 8291 body as a browser would.</summary>
public sealed class WebPushTests : IAsyncLifetime
{
    private const string Subject = "mailto:ops@example.org";
    private PushReceiver _receiver = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _receiver = await PushReceiver.StartAsync();
        _host = await StartHostAsync(_receiver);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    internal static Task<TestHost> StartHostAsync(PushReceiver receiver, Action<QrCallingPushOptions>? push = null,
        Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        TestHost.StartAsync(configure: b =>
        {
            b.Services.AddQrCalling().AddWebPush(o =>
            {
                o.AllowedEndpoints.Add(receiver.BaseUrl + "/push/");
                o.Subject = Subject;
                o.MaxSubscriptionsPerOwner = 3;
                push?.Invoke(o);
            });
            configure?.Invoke(b);
        });

    private string NewEndpoint(out string id)
    {
        id = Guid.NewGuid().ToString("N");
        return _receiver.BaseUrl + "/push/" + id;
    }

    internal static async Task<(string CallId, string CallToken, string CallerId)> RingAsync(TestHost host, string owner, string label)
    {
        var code = await host.Client(owner: owner).IssueCodeAsync(new { label });
        var started = await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        return (started.GetProperty("callId").GetString()!, started.GetProperty("callToken").GetString()!, started.GetProperty("callerId").GetString()!);
    }

    private WebPushSender Sender => _host.App.Services.GetServices<IHostedService>().OfType<WebPushSender>().Single();

    private async Task WaitForJobsAsync(long count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (Sender.JobsDone < count)
        {
            await Task.Delay(20, cts.Token);
        }
    }

    private async Task<List<PushSubscriptionRecord>> StoredAsync(string owner)
    {
        var storage = _host.App.Services.GetRequiredService<IStorage>();
        var list = new List<PushSubscriptionRecord>();
        await foreach (var s in storage.PushSubscriptions.ListByOwnerAsync(owner, default))
        {
            list.Add(s);
        }
        return list;
    }

    [Fact]
    public async Task IncomingCall_PushesAnAes128gcmMessageWithAVapidHeader_ThatDecryptsToTheLabelAndNoCallerData()
    {
        using var browser = new BrowserPushKeys();
        var endpoint = NewEndpoint(out var id);
        var subscribed = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(endpoint)));
        Assert.Equal(HttpStatusCode.Created, subscribed.StatusCode);
        var publicKey = (await (await _host.Client().GetAsync("/api/v1/push/public-key")).ReadJsonAsync()).GetProperty("publicKey").GetString()!;

        var before = DateTimeOffset.UtcNow;
        var (callId, callToken, callerId) = await RingAsync(_host, "alice", "Blue van on Elm St");
        var push = await _receiver.NextAsync();

        Assert.Equal(id, push.Id);
        Assert.Equal("aes128gcm", push.Headers["Content-Encoding"]);
        Assert.Equal("high", push.Headers["Urgency"]);
        Assert.InRange(int.Parse(push.Headers["TTL"], System.Globalization.CultureInfo.InvariantCulture), 1, 30);
        var (k, claims) = Vapid.Verify(push.Headers["Authorization"]);
        Assert.Equal(publicKey, k);
        Assert.Equal(_receiver.BaseUrl, claims.GetProperty("aud").GetString());
        Assert.Equal(Subject, claims.GetProperty("sub").GetString());
        var exp = DateTimeOffset.FromUnixTimeSeconds(claims.GetProperty("exp").GetInt64());
        Assert.InRange(exp, before, before.AddHours(24));

        var plaintext = browser.Decrypt(push.Body);
        var message = JsonDocument.Parse(plaintext).RootElement;
        Assert.Equal(["callId", "label", "type"], message.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("incoming-call", message.GetProperty("type").GetString());
        Assert.Equal(callId, message.GetProperty("callId").GetString());
        Assert.Equal("Blue van on Elm St", message.GetProperty("label").GetString());
        Assert.DoesNotContain(callToken, plaintext);
        Assert.DoesNotContain(callerId, plaintext);
        // Encrypted to the device: the label is not on the wire in clear.
        Assert.DoesNotContain("Blue van", System.Text.Encoding.UTF8.GetString(push.Body));
    }

    [Fact]
    public async Task IncomingCall_ReachesEverySubscriptionOfTheOwner_AndNoneOfAnotherOwner()
    {
        using var phone = new BrowserPushKeys();
        using var laptop = new BrowserPushKeys();
        using var bobs = new BrowserPushKeys();
        var phoneEndpoint = NewEndpoint(out var phoneId);
        var laptopEndpoint = NewEndpoint(out var laptopId);
        var bobEndpoint = NewEndpoint(out var bobId);
        Assert.Equal(HttpStatusCode.Created, (await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(phone.Subscription(phoneEndpoint)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(laptop.Subscription(laptopEndpoint)))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _host.Client(owner: "bob").PostAsync("/api/v1/push/subscriptions", Http.Json(bobs.Subscription(bobEndpoint)))).StatusCode);

        var (callId, _, _) = await RingAsync(_host, "alice", "Gate");
        await WaitForJobsAsync(1);

        var received = new List<ReceivedPush> { await _receiver.NextAsync(), await _receiver.NextAsync() };
        Assert.False(_receiver.TryTake(out _));
        Assert.Equal(new[] { laptopId, phoneId }.Order(), received.Select(r => r.Id).Order());
        var byId = received.ToDictionary(r => r.Id);
        Assert.Contains(callId, phone.Decrypt(byId[phoneId].Body));
        Assert.Contains(callId, laptop.Decrypt(byId[laptopId].Body));
        // A key for the wrong device does not decrypt it.
        Assert.ThrowsAny<CryptographicException>(() => bobs.Decrypt(byId[phoneId].Body));
    }

    [Fact]
    public async Task Subscribe_EndpointOutsideTheAllowedPrefixes_Is400EndpointNotAllowed_AndNothingIsStored()
    {
        using var browser = new BrowserPushKeys();
        var port = new Uri(_receiver.BaseUrl).Port;
        string[] refused =
        [
            "http://10.0.0.7/push/x",
            "http://169.254.169.254/latest/meta-data",
            $"http://127.0.0.1:{port + 1}/push/x",
            $"http://127.0.0.1:{port}/admin/x",
            $"http://user@127.0.0.1:{port}/push/x",
            $"https://127.0.0.1:{port}/push/x",
            "https://fcm.googleapis.com/fcm/send/x", // a default prefix, but this host configured its own list
        ];
        foreach (var endpoint in refused)
        {
            var response = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(endpoint)));
            await response.AssertProblemAsync(HttpStatusCode.BadRequest, "endpoint_not_allowed");
        }
        var notAUrl = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription("push/x")));
        await notAUrl.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.Empty(await StoredAsync("alice"));
    }

    [Fact]
    public void DefaultAllowedEndpoints_AreTheBrowsersPushServicesOverHttps_ComparedAsParsedUrls()
    {
        var policy = new PushEndpointPolicy(QrCallingPushOptions.DefaultAllowedEndpoints);

        Assert.True(policy.IsAllowed("https://fcm.googleapis.com/fcm/send/abc:def"));
        Assert.True(policy.IsAllowed("https://updates.push.services.mozilla.com/wpush/v2/gAAAA"));
        Assert.True(policy.IsAllowed("https://wns2-par02p.notify.windows.com/w/?token=BQYAAA"));
        Assert.True(policy.IsAllowed("https://web.push.apple.com/QGuQyavXutnMH"));
        Assert.False(policy.IsAllowed("http://fcm.googleapis.com/fcm/send/abc"));
        Assert.False(policy.IsAllowed("https://fcm.googleapis.com.evil.example/fcm/send/abc"));
        Assert.False(policy.IsAllowed("https://fcm.googleapis.com:8443/fcm/send/abc"));
        Assert.False(policy.IsAllowed("https://evil@fcm.googleapis.com/fcm/send/abc"));
        Assert.False(policy.IsAllowed("https://notify.windows.com/w/"));
        Assert.False(policy.IsAllowed("https://evilnotify.windows.com/w/"));
        Assert.False(policy.IsAllowed("https://127.0.0.1/fcm/send/abc"));
    }

    [Fact]
    public async Task PushServiceAnswers410Or404_TheSubscriptionIsRemoved_OthersStay()
    {
        using var gone = new BrowserPushKeys();
        using var missing = new BrowserPushKeys();
        using var fine = new BrowserPushKeys();
        var goneEndpoint = NewEndpoint(out var goneId);
        var missingEndpoint = NewEndpoint(out var missingId);
        var fineEndpoint = NewEndpoint(out _);
        _receiver.Status[goneId] = 410;
        _receiver.Status[missingId] = 404;
        foreach (var (keys, endpoint) in new[] { (gone, goneEndpoint), (missing, missingEndpoint), (fine, fineEndpoint) })
        {
            Assert.Equal(HttpStatusCode.Created, (await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(keys.Subscription(endpoint)))).StatusCode);
        }

        await RingAsync(_host, "alice", "Door");
        await WaitForJobsAsync(1);

        var left = Assert.Single(await StoredAsync("alice"));
        Assert.Equal(fineEndpoint, left.Endpoint);
    }

    [Fact]
    public async Task PushServiceAnswers500_TheSubscriptionStays()
    {
        using var browser = new BrowserPushKeys();
        var endpoint = NewEndpoint(out var id);
        _receiver.Status[id] = 500;
        await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(endpoint)));

        await RingAsync(_host, "alice", "Door");
        await WaitForJobsAsync(1);

        Assert.Single(await StoredAsync("alice"));
    }

    [Fact]
    public async Task Unsubscribe_RemovesTheSubscription_NoMorePushes_AndASecondDeleteIs404()
    {
        using var browser = new BrowserPushKeys();
        var endpoint = NewEndpoint(out _);
        await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(endpoint)));

        // Another owner cannot remove it.
        var bobs = await _host.Client(owner: "bob").SendAsync(Delete(endpoint));
        await bobs.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        var deleted = await _host.Client(owner: "alice").SendAsync(Delete(endpoint));
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var again = await _host.Client(owner: "alice").SendAsync(Delete(endpoint));
        await again.AssertProblemAsync(HttpStatusCode.NotFound, "not_found");

        await RingAsync(_host, "alice", "Door");
        await WaitForJobsAsync(1);
        Assert.False(_receiver.TryTake(out _));
        Assert.Empty(await StoredAsync("alice"));
    }

    private static HttpRequestMessage Delete(string endpoint) =>
        new(HttpMethod.Delete, "/api/v1/push/subscriptions") { Content = Http.Json(new { endpoint }) };

    [Fact]
    public async Task Subscribe_PastThePerOwnerCap_Is403QuotaExceeded_ButRenewingAKnownEndpointWorks()
    {
        var endpoints = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var keys = new BrowserPushKeys();
            endpoints.Add(NewEndpoint(out _));
            Assert.Equal(HttpStatusCode.Created, (await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(keys.Subscription(endpoints[^1])))).StatusCode);
        }
        using var fourth = new BrowserPushKeys();

        var refused = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(fourth.Subscription(NewEndpoint(out _))));
        await refused.AssertProblemAsync(HttpStatusCode.Forbidden, "quota_exceeded");
        var renewed = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions", Http.Json(fourth.Subscription(endpoints[0])));
        Assert.Equal(HttpStatusCode.Created, renewed.StatusCode);
        var stored = await StoredAsync("alice");
        Assert.Equal(3, stored.Count);
        Assert.Equal(WebEncoders.Base64UrlEncode(fourth.PublicKey), stored.Single(s => s.Endpoint == endpoints[0]).P256dh);
    }

    public static TheoryData<string, string?, string?> BadKeys()
    {
        using var ec = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        var q = ec.ExportParameters(false).Q;
        byte[] good = [0x04, .. q.X!, .. q.Y!];
        var auth = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16));
        byte[] offCurve = [.. good];
        offCurve[64] ^= 1;
        byte[] compressed = [(byte)(0x02 + (q.Y![31] & 1)), .. q.X!];
        byte[] wrongPrefix = [.. good];
        wrongPrefix[0] = 0x05;
        return new TheoryData<string, string?, string?>
        {
            { "short p256dh", WebEncoders.Base64UrlEncode(good[..64]), auth },
            { "compressed point", WebEncoders.Base64UrlEncode(compressed), auth },
            { "not uncompressed", WebEncoders.Base64UrlEncode(wrongPrefix), auth },
            { "point off the curve", WebEncoders.Base64UrlEncode(offCurve), auth },
            { "auth of 15 bytes", WebEncoders.Base64UrlEncode(good), WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(15)) },
            { "auth of 32 bytes", WebEncoders.Base64UrlEncode(good), WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32)) },
            { "p256dh not base64url", "!!not-base64!!", auth },
            { "missing p256dh", null, auth },
            { "missing auth", WebEncoders.Base64UrlEncode(good), null },
        };
    }

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task Subscribe_BadKeys_Is400InvalidRequest(string why, string? p256dh, string? auth)
    {
        var response = await _host.Client(owner: "alice").PostAsync("/api/v1/push/subscriptions",
            Http.Json(new { endpoint = NewEndpoint(out _), keys = new { p256dh, auth } }));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        Assert.True((await StoredAsync("alice")).Count == 0, why);
    }

    [Fact]
    public async Task Subscribe_WithoutOwnerAuthentication_Is401()
    {
        using var browser = new BrowserPushKeys();
        var response = await _host.Client().PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(NewEndpoint(out _))));
        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        var delete = await _host.Client().SendAsync(Delete(NewEndpoint(out _)));
        await delete.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Fact]
    public async Task PublicKey_Generated_IsAP256PointKeptInTheStorage_AndTheSameOnASecondInstance()
    {
        var first = (await (await _host.Client().GetAsync("/api/v1/push/public-key")).ReadJsonAsync()).GetProperty("publicKey").GetString()!;
        var key = WebEncoders.Base64UrlDecode(first);
        Assert.Equal(65, key.Length);
        Assert.Equal(0x04, key[0]);
        var storage = _host.App.Services.GetRequiredService<IStorage>();
        Assert.Equal(first, (await storage.PushSubscriptions.GetOrAddVapidKeysAsync(VapidKeys.Generate(), default)).PublicKey);

        // A second instance on the same storage signs with the same pair.
        await using var second = await StartHostAsync(_receiver, configure: b => b.Services.AddSingleton(storage));
        var again = (await (await second.Client().GetAsync("/api/v1/push/public-key")).ReadJsonAsync()).GetProperty("publicKey").GetString();
        Assert.Equal(first, again);
    }

    [Fact]
    public async Task PublicKey_Configured_IsServedAndSignsThePushes()
    {
        var pair = VapidKeys.Generate();
        await using var host = await StartHostAsync(_receiver, o => { o.VapidPublicKey = pair.PublicKey; o.VapidPrivateKey = pair.PrivateKey; });
        var served = (await (await host.Client().GetAsync("/api/v1/push/public-key")).ReadJsonAsync()).GetProperty("publicKey").GetString();
        Assert.Equal(pair.PublicKey, served);

        using var browser = new BrowserPushKeys();
        await host.Client(owner: "carol").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(NewEndpoint(out _))));
        await RingAsync(host, "carol", "Shed");
        var (k, _) = Vapid.Verify((await _receiver.NextAsync()).Headers["Authorization"]);
        Assert.Equal(pair.PublicKey, k);
    }

    [Theory]
    [InlineData("AllowedEndpoints", "QrCalling:Push:AllowedEndpoints:1")]
    [InlineData("OnlyPublicKey", "QrCalling:Push:VapidPublicKey and QrCalling:Push:VapidPrivateKey")]
    [InlineData("NotAPair", "QrCalling:Push:VapidPublicKey/VapidPrivateKey")]
    [InlineData("Subject", "QrCalling:Push:Subject")]
    public async Task Options_BadValue_StopsStartUpNamingTheKey(string what, string key)
    {
        var a = VapidKeys.Generate();
        var b = VapidKeys.Generate();
        Action<QrCallingPushOptions> bad = what switch
        {
            "AllowedEndpoints" => o => o.AllowedEndpoints.Add("fcm.googleapis.com"),
            "OnlyPublicKey" => o => o.VapidPublicKey = a.PublicKey,
            "NotAPair" => o => { o.VapidPublicKey = a.PublicKey; o.VapidPrivateKey = b.PrivateKey; },
            _ => o => o.Subject = "ops@example.org",
        };
        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartHostAsync(_receiver, bad));
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public async Task AHangingPushService_DoesNotDelayTheCall_AndThePushTimesOut()
    {
        await using var host = await StartHostAsync(_receiver, o => o.SendTimeout = TimeSpan.FromSeconds(1));
        using var browser = new BrowserPushKeys();
        var endpoint = NewEndpoint(out var id);
        _receiver.Delay[id] = TimeSpan.FromSeconds(30);
        await host.Client(owner: "erin").PostAsync("/api/v1/push/subscriptions", Http.Json(browser.Subscription(endpoint)));
        var code = await host.Client(owner: "erin").IssueCodeAsync(new { label = "Porch" });

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await host.Client().StartCallAsync(code.GetProperty("payload").GetString()!);
        var callStarted = watch.Elapsed;
        await _receiver.NextAsync(); // the push service has the request and does not answer
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!host.Logs.AllText.Contains("timed out after", StringComparison.Ordinal))
        {
            await Task.Delay(20, cts.Token);
        }

        Assert.True(callStarted < TimeSpan.FromSeconds(1), $"POST /calls took {callStarted}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
        Assert.Single(await StoredOnAsync(host, "erin")); // a timeout is not a 410
    }

    private static async Task<List<PushSubscriptionRecord>> StoredOnAsync(TestHost host, string owner)
    {
        var list = new List<PushSubscriptionRecord>();
        await foreach (var s in host.App.Services.GetRequiredService<IStorage>().PushSubscriptions.ListByOwnerAsync(owner, default))
        {
            list.Add(s);
        }
        return list;
    }
}
