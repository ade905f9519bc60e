using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Issue 14, devices and backups, in the web app at phone (390x844) and desktop (1280x800) sizes: the owner
/// shows a pairing QR, a new browser opens its link, names itself and shows a check code, the owner confirms the same
/// code and the new device rings (hub online), then the owner removes it and the new device says so; and a backup
/// encrypted in one browser with a passphrase is restored in another browser of the same account.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DevicesPairingTests(BrowserFixture browser)
{
    private Task<IBrowserContext> NewContextAsync(string viewport, string baseUrl) =>
        viewport == "phone" ? browser.NewPhoneContextAsync(baseUrl) : browser.NewDesktopContextAsync(baseUrl);

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task PairConfirmAndRemove_TheNewDeviceRingsThenSaysItWasRemoved(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var ownerContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var deviceContext = await NewContextAsync(viewport, server.BaseUrl);
        var owner = await ownerContext.NewPageAsync();
        var device = await deviceContext.NewPageAsync();
        var errors = WebApp.CollectErrors(owner);
        await WebApp.SignUpAsync(owner);

        await owner.GetByTestId("pair-start").ClickAsync();
        await Expect(owner.GetByTestId("pairing-qr")).ToHaveAttributeAsync("src", new Regex("^data:image/svg\\+xml;base64,"));
        await Expect(owner.GetByTestId("pairing-countdown")).ToContainTextAsync("It works once");
        var link = await owner.GetByTestId("pairing-link").InputValueAsync();
        Assert.Matches("^" + Regex.Escape(server.BaseUrl) + "/pair#qpp_[A-Za-z0-9_-]{43}$", link);
        await WebApp.ScreenshotAsync(owner, $"devices-pairing-qr-{viewport}", fullPage: false);

        await device.GotoAsync(link);
        Assert.DoesNotContain("#", device.Url); // the secret leaves the address bar
        await device.GetByTestId("pair-name").FillAsync("Kitchen tablet");
        await device.GetByTestId("pair-submit").ClickAsync();
        await Expect(device.GetByTestId("check-code")).ToHaveTextAsync(new Regex("^[0-9]{3} [0-9]{3}$"), new() { Timeout = 10_000 });
        var checkCode = (await device.GetByTestId("check-code").TextContentAsync())!;
        await Expect(device.GetByTestId("pair-status")).ToHaveTextAsync("Waiting for you to confirm on your other device…");
        await WebApp.ScreenshotAsync(device, $"devices-pair-check-{viewport}", fullPage: false);

        // The owner page notices the new device, hides the QR and shows the same check code to compare.
        var row = owner.GetByTestId("device-row");
        await Expect(row).ToHaveAttributeAsync("data-confirmed", "false", new() { Timeout = 10_000 });
        await Expect(row.GetByTestId("device-detail")).ToContainTextAsync(checkCode);
        await Expect(owner.GetByTestId("pairing")).ToBeHiddenAsync();
        await row.GetByTestId("device-confirm").ClickAsync();
        await Expect(owner.GetByTestId("devices-status")).ToHaveTextAsync("“Kitchen tablet” now rings for your calls.");
        await Expect(row).ToHaveAttributeAsync("data-confirmed", "true");

        await WebApp.WaitOnlineAsync(device, 15_000);
        await Expect(device.GetByTestId("ready-text")).ToHaveTextAsync("“Kitchen tablet” rings for your calls while this page is open.");

        // Rename, then remove (asked first): the device's page says it no longer rings.
        await row.GetByTestId("device-rename").ClickAsync();
        await owner.GetByTestId("device-rename-input").FillAsync("Hall tablet");
        await owner.GetByTestId("device-rename-save").ClickAsync();
        await Expect(owner.GetByTestId("device-name")).ToHaveTextAsync("Hall tablet");
        await owner.GetByTestId("device-remove").ClickAsync();
        await Expect(owner.GetByTestId("confirm-dialog")).ToBeVisibleAsync();
        await owner.GetByTestId("confirm-ok").ClickAsync();
        await Expect(owner.GetByTestId("devices-status")).ToHaveTextAsync("“Hall tablet” was removed and no longer rings.");
        await Expect(owner.GetByTestId("device-row")).ToHaveCountAsync(0);
        await Expect(device.GetByTestId("pair-error")).ToContainTextAsync("no longer rings", new() { Timeout = 10_000 });
        await Expect(device.Locator("body")).ToHaveAttributeAsync("data-hub", "offline");
        await WebApp.ScreenshotAsync(device, $"devices-removed-{viewport}", fullPage: false);

        // The pairing link works once: opened again it is refused in words.
        await device.GotoAsync(link);
        await device.GetByTestId("pair-name").FillAsync("Again");
        await device.GetByTestId("pair-submit").ClickAsync();
        await Expect(device.GetByTestId("pair-error")).ToContainTextAsync("not valid any more");
        Assert.DoesNotContain(errors, e => !e.StartsWith("Failed to load resource", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("desktop")]
    public async Task Backup_EncryptedInOneBrowser_RestoredInAnother_WrongPassphraseIsSaidInWords(string viewport)
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var firstContext = await NewContextAsync(viewport, server.BaseUrl);
        await using var secondContext = await NewContextAsync(viewport, server.BaseUrl);
        var first = await firstContext.NewPageAsync();
        var second = await secondContext.NewPageAsync();
        var user = "owner" + Guid.NewGuid().ToString("N")[..10];
        await first.GotoAsync("/");
        await first.GetByLabel("User name").FillAsync(user);
        await first.GetByLabel("Password").FillAsync("correct horse battery");
        await first.GetByTestId("sign-up").ClickAsync();
        await WebApp.WaitOnlineAsync(first);
        var link = await WebApp.CreateCodeAsync(first, "Back door", "audio", "chat");

        await first.GetByTestId("backup-passphrase").FillAsync("short");
        await first.GetByTestId("backup-now").ClickAsync();
        await Expect(first.GetByTestId("backup-error")).ToContainTextAsync("at least 8 characters");
        await first.GetByTestId("backup-passphrase").FillAsync("a long backup passphrase");
        await first.GetByTestId("backup-now").ClickAsync();
        await Expect(first.GetByTestId("backup-status")).ToHaveTextAsync(new Regex("^Backup 1 saved \\(1 code, "), new() { Timeout = 20_000 });

        await second.GotoAsync("/");
        await second.GetByLabel("User name").FillAsync(user);
        await second.GetByLabel("Password").FillAsync("correct horse battery");
        await second.GetByTestId("sign-in").ClickAsync();
        await WebApp.WaitOnlineAsync(second);
        var row = second.GetByTestId("code-row");
        await Expect(row.GetByTestId("qr-elsewhere")).ToBeVisibleAsync();

        await second.GetByTestId("backup-passphrase").FillAsync("not the passphrase");
        await second.GetByTestId("backup-restore").ClickAsync();
        await Expect(second.GetByTestId("backup-error")).ToHaveTextAsync("The passphrase does not open this backup. Check it and try again.", new() { Timeout = 20_000 });
        await second.GetByTestId("backup-passphrase").FillAsync("a long backup passphrase");
        await second.GetByTestId("backup-restore").ClickAsync();
        await Expect(second.GetByTestId("backup-status")).ToContainTextAsync("Restored 1 code", new() { Timeout = 20_000 });
        await Expect(row.GetByTestId("show-qr")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await row.GetByTestId("show-qr").ClickAsync();
        await Expect(second.GetByTestId("qr-link")).ToHaveTextAsync(link);
        await WebApp.ScreenshotAsync(second, $"backup-restored-{viewport}", fullPage: false);
    }
}
