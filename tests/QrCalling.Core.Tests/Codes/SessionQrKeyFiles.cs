using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace QrCalling.Core.Tests.Codes;

/// <summary>Key files written by the tests (System.Security.Cryptography / CertificateRequest), in a folder deleted on dispose.</summary>
internal sealed class SessionQrKeyFiles : IDisposable
{
    public string Folder { get; } = Directory.CreateTempSubdirectory("qrcalling-keys-").FullName;

    public static ECDsa NewKey(ECCurve? curve = null) => ECDsa.Create(curve ?? ECCurve.NamedCurves.nistP256);

    public string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public string Write(string name, string text) => Write(name, System.Text.Encoding.ASCII.GetBytes(text));

    public string Pkcs8Pem(ECDsa key, string name = "key.pem") => Write(name, key.ExportPkcs8PrivateKeyPem());

    public string Pkcs8Der(ECDsa key, string name = "key.der") => Write(name, key.ExportPkcs8PrivateKey());

    public string EncryptedPkcs8Pem(ECDsa key, string password, string name = "key-encrypted.pem") =>
        Write(name, key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));

    public string PublicPem(ECDsa key, string name = "public.pem") => Write(name, key.ExportSubjectPublicKeyInfoPem());

    /// <summary>A .pfx holding a self-signed certificate and its private key, under a password.</summary>
    public string Pkcs12(ECDsa key, string password, string name = "key.pfx")
    {
        var request = new CertificateRequest("CN=QrCalling session QR test", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));
        return Write(name, certificate.Export(X509ContentType.Pkcs12, password));
    }

    /// <summary>A .pfx holding only the certificate (no private key).</summary>
    public string Pkcs12CertificateOnly(ECDsa key, string password, string name = "cert-only.pfx")
    {
        var request = new CertificateRequest("CN=QrCalling session QR test", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));
        using var publicOnly = X509CertificateLoader.LoadCertificate(certificate.RawData);
        return Write(name, publicOnly.Export(X509ContentType.Pkcs12, password));
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }
}
