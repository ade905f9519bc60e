using System.Text;
using QrCalling.SampleHost.Accounts;
using Xunit;

namespace QrCalling.Browser.Tests.Accounts;

/// <summary>TOTP per RFC 6238 (SHA-1) and base32 per RFC 4648, against the RFCs' own test vectors.</summary>
public sealed class TotpTests
{
    private static readonly byte[] RfcSeed = Encoding.ASCII.GetBytes("12345678901234567890");

    /// <summary>RFC 6238 Appendix B, the SHA-1 rows (8 digits, T0 = 0, X = 30).</summary>
    [Theory]
    [InlineData(59L, "94287082")]
    [InlineData(1111111109L, "07081804")]
    [InlineData(1111111111L, "14050471")]
    [InlineData(1234567890L, "89005924")]
    [InlineData(2000000000L, "69279037")]
    [InlineData(20000000000L, "65353130")]
    public void Compute_Rfc6238Sha1Vectors_Match(long unixSeconds, string expected)
    {
        var step = Totp.StepAt(DateTimeOffset.FromUnixTimeSeconds(unixSeconds));

        Assert.Equal(expected, Totp.Compute(RfcSeed, step, digits: 8));
        // The 6-digit code is the same truncation modulo 10^6: the vector's last six digits.
        Assert.Equal(expected[2..], Totp.Compute(RfcSeed, step));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "MY")]
    [InlineData("fo", "MZXQ")]
    [InlineData("foo", "MZXW6")]
    [InlineData("foob", "MZXW6YQ")]
    [InlineData("fooba", "MZXW6YTB")]
    [InlineData("foobar", "MZXW6YTBOI")]
    public void Base32_Rfc4648Vectors_RoundTrip(string text, string encoded)
    {
        Assert.Equal(encoded, Base32.Encode(Encoding.ASCII.GetBytes(text)));
        Assert.Equal(text, Encoding.ASCII.GetString(Base32.Decode(encoded.ToLowerInvariant() + "==")));
    }

    [Fact]
    public void Verify_CodeOfThisOrNeighbourStep_Accepted_OlderOrUsed_Refused()
    {
        var secret = Base32.Encode(RfcSeed);
        var now = DateTimeOffset.FromUnixTimeSeconds(1111111111);
        var step = Totp.StepAt(now);

        Assert.Equal(step, Totp.Verify(secret, Totp.Compute(RfcSeed, step), now, lastUsedStep: 0));
        Assert.Equal(step - 1, Totp.Verify(secret, Totp.Compute(RfcSeed, step - 1), now, 0));
        Assert.Equal(step + 1, Totp.Verify(secret, Totp.Compute(RfcSeed, step + 1), now, 0));
        Assert.Null(Totp.Verify(secret, Totp.Compute(RfcSeed, step - 2), now, 0));
        // Used once (its step recorded): the same code, and any code of that step or before, is refused.
        Assert.Null(Totp.Verify(secret, Totp.Compute(RfcSeed, step), now, lastUsedStep: step));
        Assert.Null(Totp.Verify(secret, Totp.Compute(RfcSeed, step - 1), now, lastUsedStep: step));
        Assert.Null(Totp.Verify(secret, "12345", now, 0));
        Assert.Null(Totp.Verify(secret, "abcdef", now, 0));
    }

    [Fact]
    public void OtpAuthUri_HasSecretIssuerAndParameters()
    {
        var uri = new Uri(Totp.OtpAuthUri("QrCalling", "alice.example", "JBSWY3DPEHPK3PXP"));

        Assert.Equal("otpauth", uri.Scheme);
        Assert.Equal("totp", uri.Host);
        Assert.Equal("/QrCalling:alice.example", Uri.UnescapeDataString(uri.AbsolutePath));
        Assert.Equal("?secret=JBSWY3DPEHPK3PXP&issuer=QrCalling&algorithm=SHA1&digits=6&period=30", uri.Query);
    }
}
