using System.Reflection;

namespace QrCalling.Browser.Tests;

/// <summary>Folders the tests need, recorded at build time (the build may put bin/ anywhere with --artifacts-path).</summary>
internal static class TestPaths
{
    public static string SampleHostContentRoot => Metadata("SampleHostContentRoot");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    /// <summary>Where screenshots and downloaded QR images go: TestResults/browser under the repository (git-ignored),
    /// or QRCALLING_TEST_RESULTS when set.</summary>
    public static string Results(string sub)
    {
        var root = Environment.GetEnvironmentVariable("QRCALLING_TEST_RESULTS") is { Length: > 0 } configured
            ? configured : Path.Combine(RepositoryRoot, "TestResults", "browser");
        var path = Path.Combine(root, sub);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
