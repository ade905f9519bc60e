using Xunit;

namespace QrCalling.Testing;

/// <summary>Where the real servers started by <c>./test.sh</c> are. The script exports
/// <c>QRCALLING_TEST_POSTGRES</c> (an Npgsql connection string) and <c>QRCALLING_TEST_REDIS</c> (a StackExchange.Redis
/// configuration string). A test that needs a server and does not find it fails; it never skips.</summary>
public static class TestServers
{
    /// <summary>Name of the environment variable holding the PostgreSQL connection string.</summary>
    public const string PostgresVariable = "QRCALLING_TEST_POSTGRES";
    /// <summary>Name of the environment variable holding the Redis configuration string.</summary>
    public const string RedisVariable = "QRCALLING_TEST_REDIS";

    /// <summary>The PostgreSQL connection string; fails the test when unset.</summary>
    public static string Postgres => Require(PostgresVariable);

    /// <summary>The Redis configuration string; fails the test when unset.</summary>
    public static string Redis => Require(RedisVariable);

    private static string Require(string variable)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrWhiteSpace(value))
        {
            Assert.Fail($"{variable} is not set: run the tests with ./test.sh, which starts the servers they need.");
        }
        return value!;
    }

    /// <summary>Full path of a program from Debian's packages (e.g. turnserver, zbarimg, pg_ctl); fails when missing.</summary>
    public static string RequireProgram(string name, params string[] extraDirectories)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(extraDirectories).Concat(["/usr/bin", "/usr/sbin", "/usr/local/bin"]);
        foreach (var dir in dirs)
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }
        Assert.Fail($"{name} is not installed: run the tests with ./test.sh, which installs it from Debian's packages.");
        return name;
    }
}
