using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>The QR image and the printed sticker hold the link form (<c>&lt;base&gt;#PQC:1:…</c>), so a stock phone camera
/// opens the caller page; <c>POST /qr</c> with <c>form: "payload"</c> still gives the bare payload for in-app scanners.</summary>
[Collection(BrowserCollection.Name)]
public sealed class QrLinkTests(BrowserFixture browser)
{
    private static async Task<(string Payload, string Link)> CreateCodeAsync(HttpClient owner, string label)
    {
        using var created = await owner.PostAsJsonAsync("/api/v1/codes", new { label, media = new[] { "audio", "chat" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("payload").GetString()!, body.GetProperty("link").GetString()!);
    }

    private static async Task<string> DecodeQrAsync(HttpClient owner, object request, string name)
    {
        using var response = await owner.PostAsJsonAsync("/api/v1/qr", request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var path = Path.Combine(TestPaths.Results("qr"), name + ".png");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        return await WebApp.ZbarAsync(path);
    }

    [Fact]
    public async Task PostQr_NoForm_ImageHoldsTheLinkFormWithTheRequestsBase()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var (payload, link) = await CreateCodeAsync(owner, "Bike");

        var byDefault = await DecodeQrAsync(owner, new { payload = payload.ToLowerInvariant(), format = "png" }, "link-default");
        var explicitLink = await DecodeQrAsync(owner, new { payload = link, format = "png", form = "link" }, "link-explicit");

        Assert.Equal($"{server.BaseUrl}/c#{payload.ToUpperInvariant()}", byDefault);
        Assert.Equal(link, byDefault);
        Assert.Equal(byDefault, explicitLink);
        Assert.Matches("^http://127\\.0\\.0\\.1:\\d+/c#PQC:1:[A-Z2-7]{52}:[A-Z2-7]{7}$", byDefault);
    }

    [Fact]
    public async Task PostQr_FormPayload_ImageHoldsTheBarePayloadInUpperCase()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var (payload, link) = await CreateCodeAsync(owner, "Van");

        var fromPayload = await DecodeQrAsync(owner, new { payload = payload.ToLowerInvariant(), format = "png", form = "payload" }, "bare-payload");
        var fromLink = await DecodeQrAsync(owner, new { payload = link, format = "png", form = "PAYLOAD" }, "bare-from-link");

        Assert.Equal(payload.ToUpperInvariant(), fromPayload);
        Assert.Equal(fromPayload, fromLink);
        // SVG in both forms; the link form needs the larger symbol.
        using var svgLink = await owner.PostAsJsonAsync("/api/v1/qr", new { payload, format = "svg" });
        using var svgPayload = await owner.PostAsJsonAsync("/api/v1/qr", new { payload, format = "svg", form = "payload" });
        Assert.Equal("image/svg+xml", svgLink.Content.Headers.ContentType?.MediaType);
        Assert.Equal("image/svg+xml", svgPayload.Content.Headers.ContentType?.MediaType);
        Assert.True((await svgLink.Content.ReadAsStringAsync()).Length > (await svgPayload.Content.ReadAsStringAsync()).Length);
    }

    [Fact]
    public async Task PostQr_UnknownForm_Returns400InvalidRequest()
    {
        await using var server = await SampleHostServer.StartAsync();
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var (payload, _) = await CreateCodeAsync(owner, "Door");

        using var response = await owner.PostAsJsonAsync("/api/v1/qr", new { payload, format = "png", form = "url" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_request", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task PostQr_PublicBaseUrlConfigured_LinkInTheImageUsesIt()
    {
        await using var server = await SampleHostServer.StartAsync("--QrCalling:PublicBaseUrl=https://call.example.org/c");
        using var owner = await WebApp.OwnerClientAsync(server.BaseUrl);
        var (payload, link) = await CreateCodeAsync(owner, "Gate");

        var decoded = await DecodeQrAsync(owner, new { payload, format = "png" }, "public-base");

        Assert.Equal("https://call.example.org/c#" + payload.ToUpperInvariant(), decoded);
        Assert.Equal(link, decoded);
    }

    /// <summary>The on-screen sticker and the downloaded PNG both decode (zbarimg) to the link; opened in Chromium, the
    /// link shows the caller page for that code.</summary>
    [Fact]
    public async Task Sticker_ScannedWithZbar_LinkOpensTheCallerPageForThatCode()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        await using var callerContext = await browser.NewPhoneContextAsync(server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var caller = await callerContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner, caller);

        var link = await WebApp.SignUpAndCreateCodeAsync(owner, "Blue bike", "audio", "chat");
        var folder = TestPaths.Results("qr");
        var download = await owner.RunAndWaitForDownloadAsync(() => owner.GetByTestId("download-png").ClickAsync());
        var pngPath = Path.Combine(folder, "sticker-download.png");
        await download.SaveAsAsync(pngPath);
        var shownPath = Path.Combine(folder, "sticker-shown.png");
        await owner.GetByTestId("sticker").ScreenshotAsync(new() { Path = shownPath });

        var scanned = await WebApp.ZbarAsync(pngPath);
        Assert.Equal(scanned, await WebApp.ZbarAsync(shownPath));
        Assert.Equal(link, scanned);
        Assert.StartsWith(server.BaseUrl + "/c#PQC:1:", scanned, StringComparison.Ordinal);

        // What a phone camera does with it: open the URL.
        await caller.GotoAsync(scanned);
        await Expect(caller.GetByTestId("code-label")).ToHaveTextAsync("Blue bike");
        await Expect(caller.GetByTestId("call-audio")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("call-chat")).ToBeVisibleAsync();
        await Expect(caller.GetByTestId("call-video")).ToBeHiddenAsync();
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task StickerView_LabelledCode_ShowsInstructionAndPrintsOnlyTheStickers(string device)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = device == "phone"
            ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        var owner = await context.NewPageAsync();
        await owner.AddInitScriptAsync("window.print = () => { window.__printed = (window.__printed || 0) + 1; };");
        var errors = WebApp.CollectErrors(owner);

        await WebApp.SignUpAndCreateCodeAsync(owner, "Car", "audio", "video", "chat");

        await Expect(owner.GetByTestId("sticker")).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("sticker-line")).ToHaveTextAsync("Scan to call the owner of this car: anonymous, no app needed.");
        await Expect(owner.GetByTestId("sticker-host")).ToContainTextAsync(new Uri(server.BaseUrl).Authority);
        var image = await owner.GetByTestId("qr-image").BoundingBoxAsync();
        Assert.NotNull(image);
        Assert.True(image.Width >= 200 && image.Width <= (device == "phone" ? 390 : 400), $"QR {image.Width}px wide");
        await WebApp.ScreenshotAsync(owner, $"sticker-view-{device}");

        // The owner may reword the line; the sticker follows.
        await owner.GetByTestId("sticker-text").FillAsync("Scan to call the driver of this car: anonymous, no app needed.");
        await Expect(owner.GetByTestId("sticker-line")).ToHaveTextAsync("Scan to call the driver of this car: anonymous, no app needed.");

        // Printing a sheet of 4: only the stickers are printed.
        await owner.GetByTestId("sticker-copies").SelectOptionAsync("4");
        await owner.GetByTestId("print-qr").ClickAsync();
        Assert.Equal(1, await owner.EvaluateAsync<int>("() => window.__printed"));
        await owner.EmulateMediaAsync(new() { Media = Media.Print });
        await Expect(owner.GetByTestId("printed-sticker")).ToHaveCountAsync(4);
        await Expect(owner.GetByTestId("printed-sticker").First).ToBeVisibleAsync();
        await Expect(owner.GetByTestId("printed-sticker").First).ToContainTextAsync("Scan to call the driver of this car");
        await Expect(owner.Locator("main")).ToBeHiddenAsync();
        await Expect(owner.Locator("header")).ToBeHiddenAsync();
        await WebApp.ScreenshotAsync(owner, $"sticker-print-{device}");
        var printedPng = Path.Combine(TestPaths.Results("qr"), $"printed-{device}.png");
        await owner.GetByTestId("printed-sticker").First.ScreenshotAsync(new() { Path = printedPng });
        Assert.StartsWith(server.BaseUrl + "/c#PQC:1:", await WebApp.ZbarAsync(printedPng), StringComparison.Ordinal);
        Assert.True(errors.IsEmpty, string.Join(" | ", errors));
    }

    [Theory]
    [InlineData("Car", new[] { "audio", "chat" }, "Scan to call the owner of this car: anonymous, no app needed.")]
    [InlineData("My Front door", new[] { "video" }, "Scan to call the owner of this front door: anonymous, no app needed.")]
    [InlineData("Anna's bike", new[] { "audio" }, "Scan to call the owner of “Anna's bike”: anonymous, no app needed.")]
    [InlineData("Mailbox", new[] { "chat" }, "Scan to chat with the owner of this mailbox: anonymous, no app needed.")]
    [InlineData("", new[] { "audio" }, "Scan to call the owner: anonymous, no app needed.")]
    public async Task StickerText_Label_IsAdaptedToLabelAndMedia(string label, string[] media, string expected)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewPhoneContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");

        var text = await page.EvaluateAsync<string>("async ([label, media]) => (await import('/js/owner.js')).stickerText(label, media)",
            new object[] { label, media });

        Assert.Equal(expected, text);
    }
}
