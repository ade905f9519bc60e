using Microsoft.Playwright;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>One Chromium (Debian's, never a downloaded one) for the browser tests, with fake camera and microphone.
/// Checks first that the tests run inside a private network namespace.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        NetworkNamespaceGuard.RequireLoopbackOnly();
        var chromium = TestServers.RequireProgram("chromium");
        _playwright = await Playwright.CreateAsync();
        // A normal launch gives every run a fresh temporary profile (user-data-dir).
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Timeout = 30_000,
            Args =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
    }

    /// <summary>A fresh context (its own storage) sized like a phone, with camera and microphone allowed.</summary>
    public Task<IBrowserContext> NewPhoneContextAsync(string baseUrl) => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        BaseURL = baseUrl,
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        Permissions = ["camera", "microphone"],
        AcceptDownloads = true,
    });
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
