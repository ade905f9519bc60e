using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Packaging.Tests;

/// <summary>Packs every package under <c>src/</c> once (Release, a version of its own, warnings as errors) into a local
/// feed, as a release would. The tests run without a network (test.sh's namespace): the packs use the solution's restore,
/// and the consumer restores from the feed and the packages the solution's restore put in the global packages folder,
/// with NuGet's vulnerability audit (which needs nuget.org) off.</summary>
public sealed class PackageFeed : IAsyncLifetime
{
    /// <summary>The repository's root (where QrCalling.sln is).</summary>
    public string Root { get; } = FindRoot();

    /// <summary>The folder the packages were packed into.</summary>
    public string Feed { get; } = Directory.CreateTempSubdirectory("qrcalling-feed-").FullName;

    /// <summary>The version every package was packed with (unique per run, so no cached package stands in for it).</summary>
    public string Version { get; } = $"0.1.0-ci.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";

    /// <summary>The package ids, one per project under src/.</summary>
    public IReadOnlyList<string> Packages { get; private set; } = [];

    /// <summary>What each pack printed, for failures.</summary>
    public string PackOutput { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var projects = Directory.GetFiles(Path.Combine(Root, "src"), "*.csproj", SearchOption.AllDirectories).Order().ToArray();
        Packages = [.. projects.Select(Path.GetFileNameWithoutExtension)!];
        var output = new List<string>();
        foreach (var project in projects)
        {
            var (code, text) = await Dotnet.RunAsync(Root, TimeSpan.FromMinutes(4),
                "pack", project, "-c", "Release", "-o", Feed, "-nologo", "--no-restore", $"-p:Version={Version}", "-p:ContinuousIntegrationBuild=true");
            output.Add(text);
            Assert.True(code == 0, $"dotnet pack {Path.GetFileName(project)} failed:\n{text}");
        }
        PackOutput = string.Join('\n', output);
    }

    /// <summary>Writes a consumer's nuget.config: the packed feed and the global packages folder (where the solution's
    /// restore, made with the network, put every dependency) as its only sources. Not nuget.org: the tests run without a
    /// network, and a restore that lists a package's versions remotely (for a range such as a transitive
    /// <c>StackExchange.Redis &gt;= 2.7.27</c>) would then fail as soon as NuGet's 30-minute HTTP cache is stale.</summary>
    public void WriteConsumerNuGetConfig(string folder)
    {
        var config = new XDocument(new XElement("configuration", new XElement("packageSources",
            new XElement("clear"),
            new XElement("add", new XAttribute("key", "local"), new XAttribute("value", Feed)),
            new XElement("add", new XAttribute("key", "machine"), new XAttribute("value", GlobalPackagesFolder)))));
        config.Save(Path.Combine(folder, "nuget.config"));
    }

    private static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public Task DisposeAsync()
    {
        Directory.Delete(Feed, recursive: true);
        // The restore cached this run's packages under their one-off version: remove them from the global folder.
        var cache = GlobalPackagesFolder;
        foreach (var id in Packages)
        {
            var folder = Path.Combine(cache, id.ToLowerInvariant(), Version.ToLowerInvariant());
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        return Task.CompletedTask;
    }

    internal static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "QrCalling.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("QrCalling.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The packages as users get them: metadata, symbols, dependencies, and an app outside this repository that
/// installs them by version from the feed and completes a call on PostgreSQL and on Redis.</summary>
public sealed class PackagingTests(PackageFeed feed) : IClassFixture<PackageFeed>
{
    [Fact]
    public void EveryPackage_HasItsSymbolPackageReadmeIconLicenceAndDescription()
    {
        Assert.Contains("QrCalling.Core", feed.Packages);
        Assert.Contains("QrCalling.Hosting", feed.Packages);
        foreach (var id in feed.Packages)
        {
            var package = Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg");
            Assert.True(File.Exists(package), $"{id}: no .nupkg");
            Assert.True(File.Exists(Path.Combine(feed.Feed, $"{id}.{feed.Version}.snupkg")), $"{id}: no .snupkg");
            using var zip = ZipFile.OpenRead(package);
            var nuspec = Nuspec(zip);
            var metadata = nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
            string? Field(string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

            Assert.Equal(id, Field("id"));
            Assert.Equal(feed.Version, Field("version"));
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("PACKAGE.md", Field("readme"));
            Assert.Equal("icon.png", Field("icon"));
            Assert.False(string.IsNullOrWhiteSpace(Field("description")), $"{id}: no description");
            Assert.Contains("webrtc", Field("tags") ?? "");
            Assert.Contains(zip.Entries, e => e.FullName == "PACKAGE.md");
            Assert.Contains(zip.Entries, e => e.FullName == "icon.png");
            Assert.Contains(zip.Entries, e => e.FullName == $"lib/net10.0/{id}.xml"); // the XML docs ship with the dll
        }
    }

    [Fact]
    public void StoragePackages_DependOnCoreAtTheSameVersion()
    {
        foreach (var id in feed.Packages.Where(p => p.StartsWith("QrCalling.Storage.", StringComparison.Ordinal) || p == "QrCalling.Hosting"))
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg"));
            var dependencies = Nuspec(zip).Descendants().Where(e => e.Name.LocalName == "dependency")
                .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);

            Assert.True(dependencies.TryGetValue("QrCalling.Core", out var core), $"{id} does not depend on QrCalling.Core");
            Assert.Equal(feed.Version, core);
        }
    }

    [Fact]
    public void StorageAdapters_DoNotPullInAspNetCore()
    {
        foreach (var id in feed.Packages.Where(p => p.StartsWith("QrCalling.Storage.", StringComparison.Ordinal) || p == "QrCalling.Core"))
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"{id}.{feed.Version}.nupkg"));
            var nuspec = Nuspec(zip);
            var frameworks = nuspec.Descendants().Where(e => e.Name.LocalName == "frameworkReference").Select(e => e.Attribute("name")!.Value);
            var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value);

            Assert.DoesNotContain("Microsoft.AspNetCore.App", frameworks);
            Assert.DoesNotContain(dependencies, d => d.StartsWith("Microsoft.AspNetCore.", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("redis")]
    public async Task ConsumerApp_InstallsThePackagesByVersion_AndCompletesACall(string storage)
    {
        var app = Directory.CreateTempSubdirectory($"qrcalling-consumer-{storage}-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(Path.Combine(feed.Root, "tests", "QrCalling.Packaging.Tests", "Consumer")))
            {
                File.Copy(file, Path.Combine(app, Path.GetFileName(file)));
            }
            feed.WriteConsumerNuGetConfig(app);

            var (built, buildOutput) = await Dotnet.RunAsync(app, TimeSpan.FromMinutes(4),
                "build", "-c", "Release", "-nologo", "-warnaserror", "-p:NuGetAudit=false", $"-p:QrCallingVersion={feed.Version}", $"-p:Storage={storage}");
            Assert.True(built == 0, $"the consumer app did not build from the packages:\n{buildOutput}");

            var connection = storage == "redis" ? TestServers.Redis : TestServers.Postgres;
            var (ran, runOutput) = await Dotnet.RunAsync(app, TimeSpan.FromMinutes(2),
                Path.Combine(app, "bin", "Release", "net10.0", "Consumer.dll"), connection);
            Assert.True(ran == 0, $"the consumer app failed:\n{runOutput}");
            Assert.Contains("call completed", runOutput);
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    [Fact]
    public void ClientPackage_PullsInNoServerPart()
    {
        using var zip = ZipFile.OpenRead(Path.Combine(feed.Feed, $"QrCalling.Client.{feed.Version}.nupkg"));
        var nuspec = Nuspec(zip);
        var frameworks = nuspec.Descendants().Where(e => e.Name.LocalName == "frameworkReference").Select(e => e.Attribute("name")!.Value);
        var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value).ToList();

        Assert.DoesNotContain("Microsoft.AspNetCore.App", frameworks);
        Assert.Contains("Microsoft.AspNetCore.SignalR.Client", dependencies);
        Assert.DoesNotContain(dependencies, d => d.StartsWith("QrCalling.", StringComparison.Ordinal));
        Assert.DoesNotContain(dependencies, d => d is "Microsoft.AspNetCore.SignalR" or "Microsoft.AspNetCore.SignalR.Core" or "Microsoft.AspNetCore.Http");
    }

    [Fact]
    public async Task ClientAloneConsumer_InstallsOnlyTheClientPackage_AndCompletesACallAgainstAHost()
    {
        var app = Directory.CreateTempSubdirectory("qrcalling-client-consumer-").FullName;
        try
        {
            foreach (var file in Directory.GetFiles(Path.Combine(feed.Root, "tests", "QrCalling.Packaging.Tests", "ClientConsumer")))
            {
                File.Copy(file, Path.Combine(app, Path.GetFileName(file)));
            }
            feed.WriteConsumerNuGetConfig(app);

            var (built, buildOutput) = await Dotnet.RunAsync(app, TimeSpan.FromMinutes(4),
                "build", "-c", "Release", "-nologo", "-warnaserror", "-p:NuGetAudit=false", $"-p:QrCallingVersion={feed.Version}");
            Assert.True(built == 0, $"the client consumer did not build from the package:\n{buildOutput}");
            // Only the client came in: no other QrCalling package and no ASP.NET Core server framework.
            var assets = await File.ReadAllTextAsync(Path.Combine(app, "obj", "project.assets.json"));
            Assert.Contains($"\"QrCalling.Client/{feed.Version}\"", assets);
            Assert.DoesNotContain("\"QrCalling.Core/", assets);
            Assert.DoesNotContain("\"QrCalling.Hosting/", assets);
            Assert.DoesNotContain("Microsoft.AspNetCore.App", assets);

            await using var host = await StartHostAsync();
            var (ran, runOutput) = await Dotnet.RunAsync(app, TimeSpan.FromMinutes(2),
                Path.Combine(app, "bin", "Release", "net10.0", "ClientConsumer.dll"), host.Address.ToString(), BearerOwnerHandler.Prefix + "consumer-" + Guid.NewGuid().ToString("N"));
            Assert.True(ran == 0, $"the client consumer failed:\n{runOutput}");
            Assert.Contains("call completed", runOutput);
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    /// <summary>A QrCalling host on Kestrel (loopback, a free port) for the client consumer, its owners authenticated by
    /// <see cref="BearerOwnerHandler"/>.</summary>
    private static async Task<RunningHost> StartHostAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        BearerOwnerHandler.Register(builder.Services);
        builder.Services.AddQrCalling(o => o.PublicBaseUrl = "https://call.example.org/c");
        var app = builder.Build();
        app.UseAuthentication();
        app.MapQrCalling();
        await app.StartAsync();
        return new RunningHost(app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    private sealed record RunningHost(WebApplication App, Uri Address) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    private static XDocument Nuspec(ZipArchive zip)
    {
        using var stream = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }
}

/// <summary>Runs the dotnet CLI.</summary>
internal static class Dotnet
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        // Not the test host's own MSBuild settings: the child is a build of its own.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBuildSDKsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
