using Xunit;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

public sealed class SessionQrKeyLoadingTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private readonly SessionQrKeyFiles _files = new();
    private readonly ECDsa _key = SessionQrKeyFiles.NewKey();

    private string ExpectedKeyId => SessionQrPublicKey.FromSubjectPublicKeyInfo(_key.ExportSubjectPublicKeyInfo()).KeyId;

    private ServiceProvider Provider(Action<SessionQrOptions> configure) =>
        new ServiceCollection().AddLogging().AddQrCallingCore(o => configure(o.SessionQr)).Services.BuildServiceProvider();

    /// <summary>Signs with the configured key and checks the signature with the test's own public key.</summary>
    private void AssertSignsWithTheKey(SessionQrKeyFile file)
    {
        using var provider = Provider(o => o.SigningKey = file);
        provider.GetRequiredService<IStartupValidator>().Validate();
        var signer = provider.GetRequiredService<ISessionQrSigner>();

        var qr = signer.Sign(SessionQrKinds.Meet, "ABC", DateTimeOffset.UtcNow.AddMinutes(5)).Value;

        Assert.Equal(ExpectedKeyId, qr.KeyId);
        var own = SessionQrPublicKey.FromSubjectPublicKeyInfo(_key.ExportSubjectPublicKeyInfo());
        Assert.True(SessionQrVerifier.Verify(qr.Payload, [own], DateTimeOffset.UtcNow).IsValid);
    }

    [Fact]
    public void SigningKey_Pkcs8Pem_Loads() => AssertSignsWithTheKey(new() { Path = _files.Pkcs8Pem(_key) });

    [Fact]
    public void SigningKey_Pkcs8Der_Loads() => AssertSignsWithTheKey(new() { Path = _files.Pkcs8Der(_key) });

    [Fact]
    public void SigningKey_EncryptedPkcs8PemWithPassword_Loads() => AssertSignsWithTheKey(new() { Path = _files.EncryptedPkcs8Pem(_key, Password), Password = Password });

    [Fact]
    public void SigningKey_Pkcs12WithPassword_Loads() => AssertSignsWithTheKey(new() { Path = _files.Pkcs12(_key, Password), Password = Password });

    [Fact]
    public void PreviousKey_PublicPemOrCertificateOnlyPfx_VerifiesOnly()
    {
        using var other = SessionQrKeyFiles.NewKey();
        using var provider = Provider(o =>
        {
            o.SigningKey = new() { Path = _files.Pkcs8Pem(other, "current.pem") };
            o.PreviousKeys.Add(new() { Path = _files.PublicPem(_key) });
        });
        provider.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(ExpectedKeyId, provider.GetRequiredService<ISessionQrSigner>().VerificationKeys[1].KeyId);

        using var certificateOnly = Provider(o => o.PreviousKeys.Add(new() { Path = _files.Pkcs12CertificateOnly(_key, Password), Password = Password }));
        certificateOnly.GetRequiredService<IStartupValidator>().Validate();
        Assert.Equal(ExpectedKeyId, Assert.Single(certificateOnly.GetRequiredService<ISessionQrSigner>().VerificationKeys).KeyId);
    }

    public static TheoryData<string, string> BadKeys() => new()
    {
        { "wrong-curve", "wrong curve" },
        { "public-only", "holds no private key" },
        { "certificate-only-pfx", "holds no private key" },
        { "missing", "cannot be read" },
        { "not-a-key", "is not an EC key" },
        { "rsa", "is not an EC key" },
        { "pfx-wrong-password", "password is wrong" },
        { "encrypted-without-password", "Password is required" },
        { "pem-other-label", "has no PKCS#8" },
        { "no-path", "Path is required" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void SigningKey_Bad_StopsStartUpNamingTheKeyAndTheReason(string kind, string reason)
    {
        using var p384 = SessionQrKeyFiles.NewKey(ECCurve.NamedCurves.nistP384);
        using var rsa = RSA.Create(2048);
        var file = kind switch
        {
            "wrong-curve" => new SessionQrKeyFile { Path = _files.Pkcs8Pem(p384) },
            "public-only" => new SessionQrKeyFile { Path = _files.PublicPem(_key) },
            "certificate-only-pfx" => new SessionQrKeyFile { Path = _files.Pkcs12CertificateOnly(_key, Password), Password = Password },
            "missing" => new SessionQrKeyFile { Path = Path.Combine(_files.Folder, "nothing-here.pem") },
            "not-a-key" => new SessionQrKeyFile { Path = _files.Write("garbage.der", new byte[] { 1, 2, 3, 4 }) },
            "rsa" => new SessionQrKeyFile { Path = _files.Write("rsa.der", rsa.ExportPkcs8PrivateKey()) },
            "pfx-wrong-password" => new SessionQrKeyFile { Path = _files.Pkcs12(_key, Password), Password = "wrong" },
            "encrypted-without-password" => new SessionQrKeyFile { Path = _files.EncryptedPkcs8Pem(_key, Password) },
            "pem-other-label" => new SessionQrKeyFile { Path = _files.Write("ec.pem", _key.ExportECPrivateKeyPem()) },
            "no-path" => new SessionQrKeyFile(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        using var provider = Provider(o => o.SigningKey = file);

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("QrCalling:SessionQr:SigningKey:Path", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_DuplicateKeyId_StopsStartUp()
    {
        using var provider = Provider(o =>
        {
            o.SigningKey = new() { Path = _files.Pkcs8Pem(_key) };
            o.PreviousKeys.Add(new() { Path = _files.PublicPem(_key) });
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("QrCalling:SessionQr:PreviousKeys:0:Path", error.Message, StringComparison.Ordinal);
        Assert.Contains($"same key (key id {ExpectedKeyId}) as QrCalling:SessionQr:SigningKey", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(31 * 24, 1)]
    [InlineData(24, 25)]
    public void Lifetimes_OutOfRange_StopStartUp(int maxHours, int meetHours)
    {
        using var provider = Provider(o =>
        {
            o.MaxLifetime = TimeSpan.FromHours(maxHours);
            o.MeetLifetime = TimeSpan.FromHours(meetHours);
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains("QrCalling:SessionQr:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoKeys_IsValid_AndSigningIsOff()
    {
        using var provider = Provider(_ => { });

        provider.GetRequiredService<IStartupValidator>().Validate();

        Assert.False(provider.GetRequiredService<ISessionQrSigner>().CanSign);
    }

    public void Dispose()
    {
        _key.Dispose();
        _files.Dispose();
    }
}
