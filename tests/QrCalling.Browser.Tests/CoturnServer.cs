using QrCalling.Testing;

namespace QrCalling.Browser.Tests;

/// <summary>A real coturn on 127.0.0.1 running the documented docs/coturn.conf (see <see cref="CoturnProcess"/>), with a
/// fresh secret, started for one test.</summary>
internal sealed class CoturnServer : IDisposable
{
    private readonly CoturnProcess _coturn;

    private CoturnServer(CoturnProcess coturn, string secret)
    {
        _coturn = coturn;
        Secret = secret;
    }

    public int Port => _coturn.Port;

    public string Secret { get; }

    public static Task<CoturnServer> StartAsync()
    {
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        return Task.FromResult(new CoturnServer(CoturnProcess.Start([secret], 40000, 40999), secret));
    }

    public void Dispose() => _coturn.Dispose();
}
