using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>A pepper kept in a file of its own when none is configured (issue: no pepper by default).</summary>
public sealed class PepperFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("qrc-keys-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Task<TestHost> StartAsync(IStorage storage, string? pepper = null) => TestHost.StartAsync(
        core: o => o.Pepper = pepper,
        configure: b =>
        {
            b.Services.AddSingleton(storage);
            b.Services.AddQrCalling().UsePepperFile(Path.Combine(_dir, "keys", "pepper"));
        });

    [Fact]
    public async Task NoPepperConfigured_GeneratesOneOwnerOnlyFile_AndTheNextStartUsesTheSamePepper()
    {
        var storage = new InMemoryStorage(); // shared, as a database outlives the process
        string payload;
        await using (var first = await StartAsync(storage))
        {
            payload = (await first.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
            Assert.Equal(first.App.Services.GetRequiredService<IOptions<QrCallingOptions>>().Value.Pepper,
                await File.ReadAllTextAsync(Path.Combine(_dir, "keys", "pepper")));
        }
        var file = Path.Combine(_dir, "keys", "pepper");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }
        Assert.True((await File.ReadAllTextAsync(file)).Length >= 43);

        await using var second = await StartAsync(storage);
        var scan = await second.Client().PostAsync("/api/v1/scan", Http.Json(new { payload }));

        Assert.Equal(HttpStatusCode.OK, scan.StatusCode); // same pepper: the stored keyed hash still matches
    }

    [Fact]
    public async Task PepperConfigured_WinsAndNoFileIsWritten()
    {
        await using var host = await StartAsync(new InMemoryStorage(), pepper: "configured-pepper-0123456789");

        Assert.Equal("configured-pepper-0123456789", host.App.Services.GetRequiredService<IOptions<QrCallingOptions>>().Value.Pepper);
        Assert.False(File.Exists(Path.Combine(_dir, "keys", "pepper")));
    }

    [Fact]
    public async Task LoadOrCreateSecret_TwentyRacingCallers_AllGetTheOneSecretWritten()
    {
        var path = Path.Combine(_dir, "race", "secret");

        var secrets = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => QrCallingSecretFileExtensions.LoadOrCreateSecret(path))));

        Assert.Single(secrets.Distinct());
        Assert.Equal(secrets[0], await File.ReadAllTextAsync(path));
    }
}
