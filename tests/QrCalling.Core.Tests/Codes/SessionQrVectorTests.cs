using System.Text.Json;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Core.Tests.Codes;

/// <summary>tests/vectors/session-qr-v1.json (written by tests/vectors/make-session-qr-v1.cs with this library's signer;
/// the web app's client/session-qr.js is checked against the same file in Chromium): every case gives its status and
/// parts with <see cref="SessionQrVerifier"/>, and the file covers every status.</summary>
public sealed class SessionQrVectorTests
{
    private static readonly JsonElement Document =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "session-qr-v1.json"))).RootElement.Clone();

    private static SessionQrPublicKey TestKey => SessionQrPublicKey.FromBase64Url(Document.GetProperty("testKey").GetProperty("spki").GetString()!);

    public static TheoryData<string> CaseNames()
    {
        var names = new TheoryData<string>();
        foreach (var c in Document.GetProperty("cases").EnumerateArray())
        {
            names.Add(c.GetProperty("name").GetString()!);
        }
        return names;
    }

    private static JsonElement Case(string name) =>
        Document.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static string Status(SessionQrStatus status) => status switch
    {
        SessionQrStatus.Valid => "valid",
        SessionQrStatus.Malformed => "malformed",
        SessionQrStatus.UnknownKey => "unknown-key",
        SessionQrStatus.BadSignature => "bad-signature",
        SessionQrStatus.Expired => "expired",
        _ => status.ToString(),
    };

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Verify_SharedVector_GivesItsStatusAndParts(string name)
    {
        var v = Case(name);
        var result = SessionQrVerifier.Verify(v.GetProperty("text").GetString(), [TestKey], DateTimeOffset.FromUnixTimeSeconds(v.GetProperty("now").GetInt64()));

        Assert.Equal(v.GetProperty("status").GetString(), Status(result.Status));
        if (result.Status == SessionQrStatus.Malformed)
        {
            Assert.Null(result.Qr);
            Assert.NotNull(result.Error);
            return;
        }
        Assert.Equal(v.GetProperty("kind").GetString(), result.Qr!.Kind);
        Assert.Equal(v.GetProperty("keyId").GetString(), result.Qr.KeyId);
        Assert.Equal(v.GetProperty("expiry").GetInt64(), result.Qr.ExpiresAt.ToUnixTimeSeconds());
        Assert.Equal(v.GetProperty("subject").GetString(), result.Qr.Subject);
        Assert.Equal(v.GetProperty("payload").GetString(), result.Qr.Payload);
    }

    [Fact]
    public void Vectors_TestKey_HasItsKeyId_AndTheOtherKeySignsTheUnknownKeyCases()
    {
        var other = SessionQrPublicKey.FromBase64Url(Document.GetProperty("otherKey").GetProperty("spki").GetString()!);
        Assert.Equal(Document.GetProperty("testKey").GetProperty("kid").GetString(), TestKey.KeyId);
        Assert.Equal(Document.GetProperty("otherKey").GetProperty("kid").GetString(), other.KeyId);
        using var privateKey = System.Security.Cryptography.ECDsa.Create();
        privateKey.ImportFromPem(Document.GetProperty("testKey").GetProperty("pkcs8Pem").GetString());
        Assert.Equal(TestKey.KeyId, SessionQrPublicKey.FromPem(privateKey.ExportSubjectPublicKeyInfoPem()).KeyId);
        var unknown = Case("unknown-key");
        var withBoth = SessionQrVerifier.Verify(unknown.GetProperty("text").GetString(), [TestKey, other], DateTimeOffset.FromUnixTimeSeconds(unknown.GetProperty("now").GetInt64()));
        Assert.Equal(SessionQrStatus.Valid, withBoth.Status);
    }

    [Fact]
    public void Vectors_CoverEveryStatus()
    {
        var statuses = Document.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("status").GetString()).ToHashSet();
        Assert.Equal(Enum.GetValues<SessionQrStatus>().Select(Status).Order(), statuses.Order());
    }
}
