using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The installable app and its service worker: the manifest and /sw.js register, and a push delivered to the
/// worker through Chromium's DevTools protocol (no push service needed) shows "Incoming call" with the code's label; the
/// notification's click opens the owner page at the ringing call.</summary>
[Collection(BrowserCollection.Name)]
public sealed class PushTests(BrowserFixture browser)
{
    private async Task<IBrowserContext> NewContextAsync(string device, string baseUrl)
    {
        var options = device == "phone"
            ? BrowserFixture.PhoneOptions(baseUrl, ["notifications"])
            : new BrowserNewContextOptions { BaseURL = baseUrl, ViewportSize = new ViewportSize { Width = 1280, Height = 800 }, Permissions = ["notifications"] };
        return await browser.Browser.NewContextAsync(options);
    }

    private static Task<JsonElement> ReadyRegistrationAsync(IPage page) =>
        page.EvaluateAsync<JsonElement>("""
            async () => {
              const reg = await navigator.serviceWorker.ready;
              return { scope: reg.scope, script: reg.active?.scriptURL ?? '' };
            }
            """);

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task OwnerPage_RegistersTheManifestAndTheServiceWorker_AndOffersRingingWhenClosed(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await NewContextAsync(device, server.BaseUrl);
        var owner = await context.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        await WebApp.SignUpAsync(owner);

        var registration = await ReadyRegistrationAsync(owner);
        Assert.Equal(server.BaseUrl + "/", registration.GetProperty("scope").GetString());
        Assert.Equal(server.BaseUrl + "/sw.js", registration.GetProperty("script").GetString());

        var manifestHref = await owner.Locator("link[rel=manifest]").GetAttributeAsync("href");
        Assert.Equal("/manifest.webmanifest", manifestHref);
        var manifest = await owner.EvaluateAsync<JsonElement>("""
            async () => {
              const r = await fetch('/manifest.webmanifest');
              const m = await r.json();
              const icons = [];
              for (const icon of m.icons) {
                const i = await fetch(icon.src);
                icons.push({ src: icon.src, sizes: icon.sizes, type: icon.type, status: i.status, served: i.headers.get('content-type') });
              }
              return { type: r.headers.get('content-type'), name: m.name, start: m.start_url, display: m.display, theme: m.theme_color, icons };
            }
            """);
        Assert.Equal("application/manifest+json", manifest.GetProperty("type").GetString());
        Assert.Equal("QrCalling", manifest.GetProperty("name").GetString());
        Assert.Equal("/", manifest.GetProperty("start").GetString());
        Assert.Equal("standalone", manifest.GetProperty("display").GetString());
        Assert.Equal("#1662d6", manifest.GetProperty("theme").GetString());
        var icons = manifest.GetProperty("icons").EnumerateArray().ToList();
        Assert.All(icons, i => Assert.Equal(200, i.GetProperty("status").GetInt32()));
        Assert.All(icons, i => Assert.StartsWith(i.GetProperty("type").GetString()!, i.GetProperty("served").GetString()));
        Assert.Contains(icons, i => i.GetProperty("sizes").GetString() == "512x512" && i.GetProperty("type").GetString() == "image/png");
        Assert.Contains(icons, i => i.GetProperty("sizes").GetString() == "192x192" && i.GetProperty("type").GetString() == "image/png");
        Assert.Contains(icons, i => i.GetProperty("type").GetString() == "image/svg+xml");

        await Expect(owner.GetByTestId("push-toggle")).ToHaveTextAsync("Ring me when this tab is closed");
        await Expect(owner.GetByTestId("push-status")).ToContainTextAsync("only while this page is open");
        await WebApp.ScreenshotAsync(owner, $"push-offer-{device}", fullPage: false);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task OwnerPage_NotificationsBlocked_SaysAClosedTabCannotRing()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.Browser.NewContextAsync(BrowserFixture.PhoneOptions(server.BaseUrl, []));
        var owner = await context.NewPageAsync();
        // What a browser whose user blocked notifications for the site reports.
        await owner.AddInitScriptAsync("Object.defineProperty(Notification, 'permission', { get: () => 'denied' });");
        await WebApp.SignUpAsync(owner);

        await Expect(owner.GetByTestId("push-status")).ToContainTextAsync("Notifications are blocked for this site");
        await Expect(owner.GetByTestId("push-toggle")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(owner, "push-blocked-phone", fullPage: false);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task PushDeliveredToTheWorker_ShowsIncomingCallWithTheLabel_AndItsClickOpensTheOwnerPageRinging(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await NewContextAsync(device, server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await context.NewPageAsync();
        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Bike shed", "chat");
        await ReadyRegistrationAsync(owner);
        // The owner closes the app: only a page that is not the owner page (an icon) stays, to speak DevTools through.
        var other = await context.NewPageAsync();
        await other.GotoAsync("/favicon.svg");
        await owner.CloseAsync();

        var caller = await callerContext.NewPageAsync();
        await caller.GotoAsync(link);
        await caller.GetByTestId("call-chat").ClickAsync();
        var callId = await other.EvaluateAsync<string>("""
            async () => {
              const token = JSON.parse(localStorage.getItem('qrcalling.owner.token')).accessToken;
              for (let i = 0; i < 50; i++) {
                const calls = await (await fetch('/api/v1/calls', { headers: { Authorization: 'Bearer ' + token } })).json();
                const ringing = calls.find(c => c.state === 'ringing');
                if (ringing) return ringing.callId;
                await new Promise(r => setTimeout(r, 100));
              }
              return '';
            }
            """);
        Assert.StartsWith("call_", callId);

        // The push a push service would deliver: the server's message, as the service worker receives it decrypted.
        var cdp = await context.NewCDPSessionAsync(other);
        var registrations = new ConcurrentQueue<JsonElement>();
        cdp.Event("ServiceWorker.workerRegistrationUpdated").OnEvent += (_, e) =>
        {
            foreach (var r in e!.Value.GetProperty("registrations").EnumerateArray())
            {
                registrations.Enqueue(r.Clone());
            }
        };
        await cdp.SendAsync("ServiceWorker.enable");
        string? registrationId = null;
        for (var i = 0; i < 100 && registrationId is null; i++)
        {
            registrationId = registrations.FirstOrDefault(r => r.GetProperty("scopeURL").GetString() == server.BaseUrl + "/"
                && !(r.TryGetProperty("isDeleted", out var d) && d.GetBoolean())).GetPropertyOrNull("registrationId");
            if (registrationId is null)
            {
                await Task.Delay(50);
            }
        }
        Assert.NotNull(registrationId);
        var message = JsonSerializer.Serialize(new { type = "incoming-call", callId, label = "Bike shed" });
        await cdp.SendAsync("ServiceWorker.deliverPushMessage", new Dictionary<string, object>
        {
            ["origin"] = server.BaseUrl,
            ["registrationId"] = registrationId!,
            ["data"] = message,
        });

        JsonElement notifications = default;
        for (var i = 0; i < 100; i++)
        {
            notifications = await other.EvaluateAsync<JsonElement>("""
                async () => (await (await navigator.serviceWorker.ready).getNotifications())
                  .map(n => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url ?? '' }))
                """);
            if (notifications.GetArrayLength() > 0)
            {
                break;
            }
            await Task.Delay(50);
        }
        var shown = Assert.Single(notifications.EnumerateArray());
        Assert.Equal("Incoming call", shown.GetProperty("title").GetString());
        Assert.Contains("Bike shed", shown.GetProperty("body").GetString());
        Assert.Equal("call-" + callId, shown.GetProperty("tag").GetString());

        // The click. Headless Chromium shows notifications nowhere to click, and a window opens only from a real click:
        // the worker's own handler runs on a notificationclick event and the test opens the URL it asks for.
        var asked = await EvaluateInServiceWorkerAsync(server.BaseUrl + "/sw.js", """
            (async () => {
              const [notification] = await self.registration.getNotifications();
              let opened = '';
              const realOpen = self.clients.openWindow.bind(self.clients);
              self.clients.openWindow = (url) => { opened = url; return realOpen(url).catch(() => null); };
              const done = new Promise((resolve) => self.addEventListener('notificationclick', () => setTimeout(resolve, 200), { once: true }));
              self.dispatchEvent(new NotificationEvent('notificationclick', { notification }));
              await done;
              self.clients.openWindow = realOpen;
              return opened;
            })()
            """);
        Assert.Equal($"{server.BaseUrl}/?call={callId}", asked);
        var notificationsLeft = await other.EvaluateAsync<int>("async () => (await (await navigator.serviceWorker.ready).getNotifications()).length");
        Assert.Equal(0, notificationsLeft); // the click closed it

        var opened = context.Pages.FirstOrDefault(p => p.Url.StartsWith(server.BaseUrl + "/?call=", StringComparison.Ordinal)) ?? await context.NewPageAsync();
        if (!opened.Url.StartsWith(server.BaseUrl, StringComparison.Ordinal))
        {
            await opened.GotoAsync(asked);
        }
        var card = opened.GetByTestId("incoming-call");
        await Expect(card).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await Expect(card).ToContainTextAsync("Bike shed");
        await Expect(opened).ToHaveURLAsync(server.BaseUrl + "/"); // no call id left in the address bar
        await WebApp.ScreenshotAsync(opened, $"push-opened-{device}", fullPage: false);
    }

    /// <summary>Runs an expression in the service worker's own global scope through the DevTools protocol (the browser
    /// session attaches to the worker's target and speaks to it with Target.sendMessageToTarget).</summary>
    private async Task<string> EvaluateInServiceWorkerAsync(string scriptUrl, string expression)
    {
        var cdp = await browser.Browser.NewBrowserCDPSessionAsync();
        try
        {
            var targets = await cdp.SendAsync("Target.getTargets");
            var target = targets!.Value.GetProperty("targetInfos").EnumerateArray()
                .First(t => t.GetProperty("type").GetString() == "service_worker" && t.GetProperty("url").GetString() == scriptUrl);
            var attached = await cdp.SendAsync("Target.attachToTarget", new Dictionary<string, object>
            {
                ["targetId"] = target.GetProperty("targetId").GetString()!,
                ["flatten"] = false,
            });
            var sessionId = attached!.Value.GetProperty("sessionId").GetString()!;
            var reply = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
            cdp.Event("Target.receivedMessageFromTarget").OnEvent += (_, e) =>
            {
                if (e?.GetProperty("sessionId").GetString() != sessionId)
                {
                    return;
                }
                var message = JsonDocument.Parse(e.Value.GetProperty("message").GetString()!).RootElement;
                if (message.TryGetProperty("id", out var id) && id.GetInt32() == 1)
                {
                    reply.TrySetResult(message.Clone());
                }
            };
            await cdp.SendAsync("Target.sendMessageToTarget", new Dictionary<string, object>
            {
                ["sessionId"] = sessionId,
                ["message"] = JsonSerializer.Serialize(new
                {
                    id = 1,
                    method = "Runtime.evaluate",
                    @params = new { expression, awaitPromise = true, returnByValue = true },
                }),
            });
            var result = await reply.Task.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.False(result.GetProperty("result").TryGetProperty("exceptionDetails", out var error), error.ToString());
            return result.GetProperty("result").GetProperty("result").GetProperty("value").GetString() ?? "";
        }
        finally
        {
            await cdp.DetachAsync();
        }
    }
}

internal static class JsonElementExtensions
{
    public static string? GetPropertyOrNull(this JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.GetString() : null;
}
