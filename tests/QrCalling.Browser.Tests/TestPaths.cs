using System.Reflection;

namespace QrCalling.Browser.Tests;

/// <summary>Folders the tests need, recorded at build time (the build may put bin/ anywhere with --artifacts-path).</summary>
internal static class TestPaths
{
    public static string SampleHostContentRoot => Metadata("SampleHostContentRoot");

    public static string RepositoryRoot => Metadata("RepositoryRoot");

    /// <summary>Where screenshots and downloaded QR images go: under <c>QRCALLING_TEST_ARTIFACTS</c> (which ./test.sh sets
    /// to its results folder) in <c>QrCalling.Browser.Tests/</c>, next to this project's test results; else under
    /// QRCALLING_TEST_RESULTS; else TestResults/browser under the repository (git-ignored).</summary>
    public static string Results(string sub)
    {
        string root;
        if (Environment.GetEnvironmentVariable("QRCALLING_TEST_ARTIFACTS") is { Length: > 0 } artifacts)
        {
            root = Path.Combine(artifacts, "QrCalling.Browser.Tests");
        }
        else if (Environment.GetEnvironmentVariable("QRCALLING_TEST_RESULTS") is { Length: > 0 } configured)
        {
            root = configured;
        }
        else
        {
            root = Path.Combine(RepositoryRoot, "TestResults", "browser");
        }
        var path = Path.Combine(root, sub);
        Directory.CreateDirectory(path);
        return path;
    }

    private static string Metadata(string key) =>
        typeof(TestPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
