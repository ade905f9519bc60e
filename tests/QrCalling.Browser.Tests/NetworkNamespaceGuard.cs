using System.Net.NetworkInformation;
using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>The browser tests must run inside a private network namespace (only loopback up), so WebRTC can use
/// nothing but 127.0.0.1: <c>unshare -n bash -c 'ip link set lo up &amp;&amp; dotnet test tests/QrCalling.Browser.Tests --no-build'</c>.</summary>
internal static class NetworkNamespaceGuard
{
    public static void RequireLoopbackOnly()
    {
        var others = NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.NetworkInterfaceType != NetworkInterfaceType.Loopback && i.OperationalStatus == OperationalStatus.Up)
            .Select(i => i.Name)
            .ToList();
        if (others.Count > 0)
        {
            Assert.Fail($"The browser tests must run in a private network namespace, but these interfaces are up: {string.Join(", ", others)}. " +
                "Build first, then run: unshare -n bash -c 'ip link set lo up && dotnet test tests/QrCalling.Browser.Tests --no-build'.");
        }
        var loopbackUp = NetworkInterface.GetAllNetworkInterfaces()
            .Any(i => i.NetworkInterfaceType == NetworkInterfaceType.Loopback && i.OperationalStatus is OperationalStatus.Up or OperationalStatus.Unknown);
        Assert.True(loopbackUp, "The loopback interface is down: run 'ip link set lo up' inside the namespace first.");
    }
}
