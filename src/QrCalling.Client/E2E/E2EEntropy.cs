using System.Security.Cryptography;

namespace QrCalling.Client.E2E;

/// <summary>Where a session's fresh key pairs and random bytes come from; tests replace it to replay the vectors.</summary>
internal class E2EEntropy
{
    public static readonly E2EEntropy System = new();

    public virtual ECDiffieHellman NewKeyPair() => ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public virtual byte[] RandomBytes(int count) => RandomNumberGenerator.GetBytes(count);
}
