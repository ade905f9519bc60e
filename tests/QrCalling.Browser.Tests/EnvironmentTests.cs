using Xunit;

namespace QrCalling.Browser.Tests;

/// <summary>Fails with a clear message when the browser tests are run outside a private network namespace.</summary>
public sealed class EnvironmentTests
{
    [Fact]
    public void NetworkNamespace_BrowserTests_SeeOnlyLoopback() => NetworkNamespaceGuard.RequireLoopbackOnly();
}
