using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit;

namespace QrCalling.Browser.Tests.JsClient;

/// <summary>The JavaScript client module's TypeScript declarations (wwwroot/js/qrcalling-client.d.ts): a usage sample
/// type-checks against them with <c>tsc --noEmit --strict</c>, a broken copy does not, and they declare exactly what the
/// module exports. TypeScript comes from npm (<c>typescript</c> at <see cref="TypeScriptVersion"/>) into a temporary
/// folder, from the npm cache only (the build puts it there; the tests run without a network).</summary>
[Collection(BrowserCollection.Name)]
public sealed partial class TypeScriptDeclarationsTests(BrowserFixture browser)
{
    /// <summary>Also in the project file's WarmTypeScriptCache target.</summary>
    private const string TypeScriptVersion = "6.0.3";

    private static readonly string ClientJs = Path.Combine(TestPaths.SampleHostContentRoot, "wwwroot", "js");

    private static readonly string Usage = Path.Combine(TestPaths.RepositoryRoot, "tests", "QrCalling.Browser.Tests", "JsClient", "TypeScript", "usage.ts");

    [Fact]
    public async Task Declarations_UsageSample_TypeChecksStrict()
    {
        var declarations = await File.ReadAllTextAsync(Path.Combine(ClientJs, "qrcalling-client.d.ts"));
        var (exitCode, output) = await TypeCheckAsync(declarations);
        Assert.True(exitCode == 0, $"tsc found errors:\n{output}");
    }

    [Theory]
    [InlineData("  sendChat(text: string): Promise<number | undefined>;\n", "")]
    [InlineData("chat: CustomEvent<{ text: string }>;", "chat: CustomEvent<{ body: string }>;")]
    [InlineData("export function routeCallEvents(", "export function routeEvents(")]
    public async Task Declarations_WrongDeclaration_TypeCheckFails(string declared, string wrong)
    {
        var declarations = await File.ReadAllTextAsync(Path.Combine(ClientJs, "qrcalling-client.d.ts"));
        Assert.Contains(declared, declarations, StringComparison.Ordinal);
        var (exitCode, output) = await TypeCheckAsync(declarations.Replace(declared, wrong, StringComparison.Ordinal));
        Assert.NotEqual(0, exitCode);
        Assert.Contains("error TS", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Declarations_NameEveryExportOfTheModule_AndNothingElse()
    {
        var declarations = await File.ReadAllTextAsync(Path.Combine(ClientJs, "qrcalling-client.d.ts"));
        var declared = DeclaredValue().Matches(declarations).Select(m => m.Groups[1].Value).ToHashSet();
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/examples/minimal-caller.html");
        var exported = await page.EvaluateAsync<string[]>("async () => Object.keys(await import('/js/qrcalling-client.js'))");
        Assert.NotEmpty(exported);
        Assert.Equal(exported.Order(StringComparer.Ordinal), declared.Order(StringComparer.Ordinal));
    }

    [GeneratedRegex(@"^export (?:class|function|const) ([A-Za-z_$][\w$]*)", RegexOptions.Multiline)]
    private static partial Regex DeclaredValue();

    /// <summary>Runs <c>tsc --noEmit --strict</c> over the declarations (as qrcalling-client.d.ts) and the usage sample.</summary>
    private static async Task<(int ExitCode, string Output)> TypeCheckAsync(string declarations)
    {
        var tsc = await TypeScriptAsync();
        var folder = Directory.CreateTempSubdirectory("qrcalling-tsc-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder.FullName, "qrcalling-client.d.ts"), declarations);
            File.Copy(Usage, Path.Combine(folder.FullName, "usage.ts"));
            return await RunAsync("node", folder.FullName, tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "es2022",
                "--moduleResolution", "bundler", "--lib", "es2022,dom", "usage.ts", "qrcalling-client.d.ts");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static readonly SemaphoreSlim InstallLock = new(1, 1);
    private static string? tscPath;

    /// <summary>Installs TypeScript once per test run into a temporary folder, from the npm cache only.</summary>
    private static async Task<string> TypeScriptAsync()
    {
        await InstallLock.WaitAsync();
        try
        {
            if (tscPath is not null) return tscPath;
            var folder = Path.Combine(Path.GetTempPath(), $"qrcalling-typescript-{TypeScriptVersion}-{Environment.ProcessId}");
            Directory.CreateDirectory(folder);
            await File.WriteAllTextAsync(Path.Combine(folder, "package.json"), """{ "private": true }""");
            var (exitCode, output) = await RunAsync("npm", folder, "install", "--offline", "--no-audit", "--no-fund",
                "--ignore-scripts", "--no-save", $"typescript@{TypeScriptVersion}");
            var tsc = Path.Combine(folder, "node_modules", "typescript", "bin", "tsc");
            Assert.True(exitCode == 0 && File.Exists(tsc),
                $"npm install typescript@{TypeScriptVersion} from the npm cache failed ({exitCode}); the build warms the cache (npm cache add): {output}");
            return tscPath = tsc;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
