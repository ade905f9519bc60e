using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using QrCalling.Testing;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests;

/// <summary>Steps through the sample web app that several browser tests share.</summary>
internal static class WebApp
{
    /// <summary>A fixed JWT key, so that an owner's token stays valid across a restart of the host.</summary>
    public const string JwtKeySetting = "--QrCalling:Sample:JwtKey=browser-tests-jwt-key-0123456789abcdef";

    public static Task WaitOnlineAsync(IPage page, int timeoutMs = 10_000) =>
        Expect(page.Locator("body")).ToHaveAttributeAsync("data-hub", "online", new() { Timeout = timeoutMs });

    public static async Task SignUpAsync(IPage owner)
    {
        await owner.GotoAsync("/");
        await owner.GetByLabel("User name").FillAsync("owner" + Guid.NewGuid().ToString("N")[..10]);
        await owner.GetByLabel("Password").FillAsync("correct horse battery");
        await owner.GetByTestId("sign-up").ClickAsync();
        await WaitOnlineAsync(owner);
    }

    /// <summary>Creates a code from the owner page; returns its link (the text shown under the sticker).</summary>
    public static async Task<string> CreateCodeAsync(IPage owner, string label, params string[] media)
    {
        await owner.GetByTestId("code-label").FillAsync(label);
        if (media.Length > 0)
        {
            foreach (var kind in new[] { "audio", "video", "chat" })
            {
                await owner.Locator($"input[name=media][value={kind}]").SetCheckedAsync(media.Contains(kind));
            }
        }
        await owner.GetByTestId("create-code").ClickAsync();
        await Expect(owner.GetByTestId("qr-image")).ToHaveAttributeAsync("src", new System.Text.RegularExpressions.Regex("^blob:"));
        return (await owner.GetByTestId("qr-link").TextContentAsync())!;
    }

    public static async Task<string> SignUpAndCreateCodeAsync(IPage owner, string label, params string[] media)
    {
        await SignUpAsync(owner);
        return await CreateCodeAsync(owner, label, media);
    }

    /// <summary>Answers the direct-connection question (asked on calls without TURN before any address could leave).</summary>
    public static async Task AnswerDirectAsync(IPage page, bool yes)
    {
        await Expect(page.GetByTestId("direct-prompt")).ToBeVisibleAsync(new() { Timeout = 10_000 });
        await page.GetByTestId(yes ? "direct-yes" : "direct-no").ClickAsync();
    }

    public static async Task WaitConnectedAsync(params IPage[] pages)
    {
        foreach (var page in pages)
        {
            await page.WaitForFunctionAsync("() => window.qrcallingDebug?.pc?.connectionState === 'connected'", null, new() { Timeout = 20_000 });
        }
    }

    public static async Task WaitChatReadyAsync(params IPage[] pages)
    {
        foreach (var page in pages)
        {
            await Expect(page.GetByTestId("chat-send")).ToBeEnabledAsync(new() { Timeout = 10_000 });
        }
    }

    public static async Task SendChatAsync(IPage from, IPage to, string text)
    {
        await from.GetByTestId("chat-input").FillAsync(text);
        await from.GetByTestId("chat-send").ClickAsync();
        await Expect(to.Locator("[data-testid=chat-message].them").Last).ToHaveTextAsync(text, new() { Timeout = 10_000 });
    }

    private const string InboundAudioBytes = """
        async () => {
          const pc = window.qrcallingDebug?.pc;
          if (!pc) return -1;
          let bytes = 0;
          (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') bytes += r.bytesReceived || 0; });
          return bytes;
        }
        """;

    public static async Task AssertAudioFlowsAsync(IPage page, string who)
    {
        var first = await page.EvaluateAsync<double>(InboundAudioBytes);
        var clock = Stopwatch.StartNew();
        var later = first;
        while (later <= first && clock.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(200);
            later = await page.EvaluateAsync<double>(InboundAudioBytes);
        }
        Assert.True(later > first && first >= 0, $"{who}: inbound audio bytesReceived did not grow ({first} then {later}).");
    }

    private static readonly Lazy<string> TooBigFilePath = new(() =>
    {
        var folder = Directory.CreateTempSubdirectory("qrcalling-too-big-").FullName;
        var path = Path.Combine(folder, "huge.mov");
        using var file = File.Create(path);
        file.SetLength(26 * 1024 * 1024);
        return path;
    });

    /// <summary>A 26 MiB file of zeros named huge.mov (over the 25 MB cap), written once per test run. Passed to
    /// <c>SetInputFilesAsync</c> by path: Chromium reads it from disk, where a 26 MiB <c>FilePayload</c> buffer went to the
    /// browser base64-encoded through Playwright's driver and took half a minute on a loaded 2-core machine.</summary>
    public static string TooBigFile => TooBigFilePath.Value;

    /// <summary>Saves a screenshot under the test artifacts' screenshots folder; returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name, bool fullPage = true)
    {
        var path = Path.Combine(TestPaths.Results("screenshots"), name + ".png");
        if (fullPage)
        {
            // A full-page capture keeps the scroll position: from the top, the sticky bar shows where it belongs.
            await page.EvaluateAsync("() => window.scrollTo(0, 0)");
        }
        await page.ScreenshotAsync(new() { Path = path, FullPage = fullPage });
        return path;
    }

    /// <summary>Script errors and console errors of the pages (a CSP violation is a console error).</summary>
    public static ConcurrentQueue<string> CollectErrors(params IPage[] pages)
    {
        var errors = new ConcurrentQueue<string>();
        foreach (var page in pages)
        {
            page.PageError += (_, error) => errors.Enqueue(error);
            page.Console += (_, message) => { if (message.Type == "error") errors.Enqueue($"{message.Text} at {message.Location}"); };
        }
        return errors;
    }

    public static async Task<string> ZbarAsync(string path)
    {
        var zbarimg = TestServers.RequireProgram("zbarimg");
        var start = new ProcessStartInfo(zbarimg) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-q");
        start.ArgumentList.Add("--raw");
        start.ArgumentList.Add(path);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"zbarimg could not decode {path} (exit {process.ExitCode}).");
        return (await output).Trim();
    }

    /// <summary>An owner account over HTTP (no browser): the client carries its bearer token.</summary>
    public static async Task<HttpClient> OwnerClientAsync(string baseUrl)
    {
        var http = new HttpClient { BaseAddress = new Uri(baseUrl) };
        var user = new { username = "api" + Guid.NewGuid().ToString("N")[..12], password = "correct horse battery" };
        (await http.PostAsJsonAsync("/api/v1/account/register", user)).EnsureSuccessStatusCode();
        using var login = await http.PostAsJsonAsync("/api/v1/account/login", user);
        login.EnsureSuccessStatusCode();
        var token = (await login.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accessToken").GetString();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}
