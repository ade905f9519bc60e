using Microsoft.Playwright;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>One Chromium (Debian's, never a downloaded one) for the browser tests, with fake camera and microphone.
/// Checks first that the tests run inside a private network namespace.</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private static readonly string[] CommonArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _withoutFakeUi;
    private readonly SemaphoreSlim _launch = new(1, 1);

    /// <summary>Chromium that grants camera and microphone prompts by itself (<c>--use-fake-ui-for-media-stream</c>).</summary>
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        NetworkNamespaceGuard.RequireLoopbackOnly();
        _playwright = await Playwright.CreateAsync();
        // A normal launch gives every run a fresh temporary profile (user-data-dir).
        Browser = await LaunchAsync([.. CommonArgs, "--use-fake-ui-for-media-stream"]);
    }

    /// <summary>A second Chromium without the fake permission UI: there a context that was not granted camera and
    /// microphone gets <c>NotAllowedError</c>, as when a user blocks them. Launched on first use.</summary>
    public async Task<IBrowser> BrowserWithoutFakeUiAsync()
    {
        await _launch.WaitAsync();
        try
        {
            return _withoutFakeUi ??= await LaunchAsync(CommonArgs);
        }
        finally
        {
            _launch.Release();
        }
    }

    private Task<IBrowser> LaunchAsync(string[] args) => _playwright!.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = TestServers.RequireProgram("chromium"),
        Headless = true,
        Timeout = 30_000,
        Args = args,
    });

    public async Task DisposeAsync()
    {
        if (_withoutFakeUi is not null)
        {
            await _withoutFakeUi.CloseAsync();
        }
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        _launch.Dispose();
    }

    /// <summary>A fresh context (its own storage) sized like a phone (390x844, touch, mobile viewport), with camera and
    /// microphone allowed.</summary>
    public Task<IBrowserContext> NewPhoneContextAsync(string baseUrl) => Browser.NewContextAsync(PhoneOptions(baseUrl));

    /// <summary>A fresh desktop-sized context (1280x800), with camera and microphone allowed.</summary>
    public Task<IBrowserContext> NewDesktopContextAsync(string baseUrl) => Browser.NewContextAsync(new BrowserNewContextOptions
    {
        BaseURL = baseUrl,
        ViewportSize = new ViewportSize { Width = 1280, Height = 800 },
        Permissions = ["camera", "microphone"],
        AcceptDownloads = true,
    });

    /// <summary>The options of a phone context; <paramref name="permissions"/> null grants camera and microphone.</summary>
    public static BrowserNewContextOptions PhoneOptions(string baseUrl, IEnumerable<string>? permissions = null) => new()
    {
        BaseURL = baseUrl,
        ViewportSize = new ViewportSize { Width = 390, Height = 844 },
        IsMobile = true,
        HasTouch = true,
        DeviceScaleFactor = 2,
        Permissions = permissions ?? ["camera", "microphone"],
        AcceptDownloads = true,
    };
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
