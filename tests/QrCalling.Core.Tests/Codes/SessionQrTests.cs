using Xunit;
using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QRCoder;
using QrCalling.Codes;

namespace QrCalling.Core.Tests.Codes;

public sealed class SessionQrTests : IDisposable
{
    private const string QrAlphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly SessionQrKeyFiles _files = new();
    private readonly FakeTimeProvider _time = new(Start);
    private readonly ECDsa _keyA = SessionQrKeyFiles.NewKey();
    private readonly ECDsa _keyB = SessionQrKeyFiles.NewKey();
    private readonly SessionQrKeyRing _ringA;

    public SessionQrTests()
    {
        _ringA = Ring(o => o.SigningKey = new SessionQrKeyFile { Path = _files.Pkcs8Pem(_keyA, "a.pem") });
    }

    private SessionQrKeyRing Ring(Action<SessionQrOptions> configure)
    {
        var options = new QrCallingOptions();
        configure(options.SessionQr);
        return new SessionQrKeyRing(Options.Create(options), _time, NullLogger<SessionQrKeyRing>.Instance);
    }

    private static Gen<string> Subjects =>
        Gen.Choose(1, SessionQrPayload.MaxSubjectLength).SelectMany(n => Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-abcxyz".ToCharArray()), n))
            .Select(c => new string(c));

    private static Gen<string> Kinds =>
        Gen.OneOf(Gen.Constant(SessionQrKinds.Room), Gen.Constant(SessionQrKinds.Meet),
            Gen.Choose(1, SessionQrPayload.MaxKindLength).SelectMany(n => Gen.ArrayOf(Gen.Elements("ABCDEFGHIJKLMNOPQRSTUVWXYZ".ToCharArray()), n)).Select(c => new string(c)));

    /// <summary>Seconds from now to the expiry: 1 s to a day (the default longest lifetime).</summary>
    private static Gen<int> Lifetimes => Gen.Choose(1, 86_400);

    private SessionQr Sign(string kind, string subject, int seconds) => _ringA.Sign(kind, subject, Start.AddSeconds(seconds)).Value;

    [Property(MaxTest = 100)]
    public Property SignThenVerify_AnyKindSubjectExpiry_RoundTripsInAlphanumericCharacters() => Prop.ForAll(
        Kinds.ToArbitrary(), Subjects.ToArbitrary(), Lifetimes.ToArbitrary(), (kind, subject, seconds) =>
        {
            var qr = Sign(kind, subject, seconds);
            var result = SessionQrVerifier.Verify(qr.Payload, _ringA.VerificationKeys, Start);
            var lower = SessionQrVerifier.Verify("  " + qr.Payload.ToLowerInvariant() + "\n", _ringA.VerificationKeys, Start);
            var link = SessionQrVerifier.Verify(SessionQrPayload.ToLink("https://call.example.org/c", qr.Payload), _ringA.VerificationKeys, Start);
            return result.IsValid && lower.IsValid && link.IsValid
                && result.Qr!.Kind == kind && result.Qr.Subject == subject.ToUpperInvariant()
                && result.Qr.ExpiresAt == Start.AddSeconds(seconds) && result.Qr.KeyId == _ringA.VerificationKeys[0].KeyId
                && qr.Payload.All(c => QrAlphanumeric.Contains(c, StringComparison.Ordinal));
        });

    [Property(MaxTest = 300)]
    public Property Verify_AnySingleCharacterChanged_IsInvalid() => Prop.ForAll(
        Subjects.ToArbitrary(), Gen.Choose(0, 10_000).ToArbitrary(), Gen.Elements((QrAlphanumeric + "#_=é\u0131").ToCharArray()).ToArbitrary(),
        (subject, where, substitute) =>
        {
            var payload = Sign(SessionQrKinds.Meet, subject, 600).Payload;
            var i = where % payload.Length;
            if (char.ToUpperInvariant(substitute) == payload[i])
            {
                return true; // the same canonical character: not a change
            }
            var changed = string.Concat(payload.AsSpan(0, i), substitute.ToString(), payload.AsSpan(i + 1));
            return !SessionQrVerifier.Verify(changed, _ringA.VerificationKeys, Start).IsValid && !_ringA.Verify(changed).IsValid;
        });

    [Property(MaxTest = 200)]
    public Property Verify_AnyBitOfTheSignatureFlipped_IsABadSignature() => Prop.ForAll(
        Subjects.ToArbitrary(), Gen.Choose(0, SessionQrPayload.SignatureBytes * 8 - 1).ToArbitrary(), (subject, bit) =>
        {
            var payload = Sign(SessionQrKinds.Room, subject, 600).Payload;
            var head = payload[..(payload.LastIndexOf(':') + 1)];
            var signature = new byte[SessionQrPayload.SignatureBytes];
            Assert.True(Base32.TryDecode(payload.AsSpan(head.Length), signature));
            signature[bit / 8] ^= (byte)(1 << (bit % 8));
            var flipped = head + Base32.Encode(signature);
            return SessionQrVerifier.Verify(flipped, _ringA.VerificationKeys, Start).Status == SessionQrStatus.BadSignature;
        });

    [Property(MaxTest = 50)]
    public Property Verify_AtOrAfterExpiry_IsExpired_AndValidJustBefore() => Prop.ForAll(
        Lifetimes.ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (seconds, late) =>
        {
            var qr = Sign(SessionQrKinds.Meet, "ABC", seconds);
            var keys = _ringA.VerificationKeys;
            return SessionQrVerifier.Verify(qr.Payload, keys, qr.ExpiresAt.AddSeconds(late)).Status == SessionQrStatus.Expired
                && SessionQrVerifier.Verify(qr.Payload, keys, qr.ExpiresAt.AddTicks(-1)).IsValid;
        });

    [Fact]
    public void Verify_ExpiredThroughTheHostClock_IsExpired()
    {
        var qr = Sign(SessionQrKinds.Room, "ROOM-1", 60);

        Assert.True(_ringA.Verify(qr.Payload).IsValid);
        _time.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal(SessionQrStatus.Expired, _ringA.Verify(qr.Payload).Status);
    }

    [Fact]
    public void Verify_ForeignKey_IsUnknownKey_AndAForeignSignatureUnderOurKeyIdIsBad()
    {
        using var ringB = Ring(o => o.SigningKey = new SessionQrKeyFile { Path = _files.Pkcs8Pem(_keyB, "b.pem") });
        var foreign = ringB.Sign(SessionQrKinds.Meet, "SUBJECT", Start.AddMinutes(5)).Value;

        Assert.Equal(SessionQrStatus.UnknownKey, _ringA.Verify(foreign.Payload).Status);
        Assert.Equal(SessionQrStatus.UnknownKey, SessionQrVerifier.Verify(foreign.Payload, _ringA.VerificationKeys, Start).Status);
        var ourKid = foreign.Payload.Replace(foreign.KeyId, _ringA.VerificationKeys[0].KeyId, StringComparison.Ordinal);
        Assert.Equal(SessionQrStatus.BadSignature, _ringA.Verify(ourKid).Status);
    }

    [Fact]
    public void Rotation_OldKeyListed_StillVerifies_RemovedKeyDoesNot()
    {
        var old = Sign(SessionQrKinds.Meet, "OLD", 3600);
        var aPath = Path.Combine(_files.Folder, "a.pem");
        using var rotated = Ring(o =>
        {
            o.SigningKey = new SessionQrKeyFile { Path = _files.Pkcs8Pem(_keyB, "b.pem") };
            o.PreviousKeys.Add(new SessionQrKeyFile { Path = _files.PublicPem(_keyA, "a-public.pem") });
        });
        using var removed = Ring(o => o.SigningKey = new SessionQrKeyFile { Path = Path.Combine(_files.Folder, "b.pem") });

        Assert.True(rotated.Verify(old.Payload).IsValid);
        var fresh = rotated.Sign(SessionQrKinds.Meet, "NEW", Start.AddHours(1)).Value;
        Assert.NotEqual(old.KeyId, fresh.KeyId);
        Assert.Equal(fresh.KeyId, rotated.VerificationKeys[0].KeyId); // the signing key first
        Assert.Equal(2, rotated.VerificationKeys.Count);
        Assert.Equal(SessionQrStatus.UnknownKey, removed.Verify(old.Payload).Status);
        Assert.True(removed.Verify(fresh.Payload).IsValid);
        Assert.True(File.Exists(aPath));
    }

    [Fact]
    public void KeyId_IsStable_AndTheSameFromEveryFormOfTheKey()
    {
        var fromRing = _ringA.VerificationKeys[0];
        var fromSpki = SessionQrPublicKey.FromSubjectPublicKeyInfo(_keyA.ExportSubjectPublicKeyInfo());
        var fromPem = SessionQrPublicKey.FromPem(_keyA.ExportSubjectPublicKeyInfoPem());
        var fromBase64Url = SessionQrPublicKey.FromBase64Url(fromRing.ToBase64Url());

        Assert.Equal(SessionQrPayload.KeyIdChars, fromRing.KeyId.Length);
        Assert.All(new[] { fromSpki, fromPem, fromBase64Url }, k => Assert.Equal(fromRing.KeyId, k.KeyId));
        Assert.Equal(Base32.Encode(SHA256.HashData(_keyA.ExportSubjectPublicKeyInfo()).AsSpan(0, 5)), fromRing.KeyId);
        Assert.True(SessionQrVerifier.Verify(Sign("MEET", "X", 5).Payload, [fromBase64Url], Start).IsValid);
    }

    [Fact]
    public void PublicKey_NotP256_IsRefused()
    {
        using var p384 = SessionQrKeyFiles.NewKey(ECCurve.NamedCurves.nistP384);

        var ex = Assert.Throws<CryptographicException>(() => SessionQrPublicKey.FromSubjectPublicKeyInfo(p384.ExportSubjectPublicKeyInfo()));
        Assert.Contains("wrong curve", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "empty or too long")]
    [InlineData("", "does not start with PQS:1:")]
    [InlineData("PQC:1:AAAA:BBBB", "does not start with PQS:1:")]
    [InlineData("PQS:1:MEET:AAAAAAAA:123:SUBJECT", "7 parts")]
    [InlineData("PQS:1:ME3T:AAAAAAAA:123:SUBJECT:SIG", "kind")]
    [InlineData("PQS:1:MEET:AAAAAAA1:123:SUBJECT:SIG", "key id")]
    [InlineData("PQS:1:MEET:AAAAAAAA:0123:SUBJECT:SIG", "expiry")]
    [InlineData("PQS:1:MEET:AAAAAAAA:123:SUB_JECT:SIG", "subject")]
    [InlineData("PQS:1:MEET:AAAAAAAA:123:SUBJECT:SIG", "signature")]
    [InlineData("PQS:1:MEET:AAAAAAAA:123:SUBJ\u0130CT:SIG", "outside ASCII")]
    public void Verify_Malformed_SaysWhichPartIsWrong(string? text, string expected)
    {
        var result = SessionQrVerifier.Verify(text, _ringA.VerificationKeys, Start);

        Assert.Equal(SessionQrStatus.Malformed, result.Status);
        Assert.Contains(expected, result.Error, StringComparison.Ordinal);
        Assert.Null(result.Qr);
    }

    [Property(MaxTest = 300)]
    public Property Verify_AnyText_NeverThrowsAndIsNeverValid() => Prop.ForAll(Generators.AnyText, text =>
        !SessionQrVerifier.Verify(text, _ringA.VerificationKeys, Start).IsValid
        && !SessionQrVerifier.Verify("PQS:1:" + text, _ringA.VerificationKeys, Start).IsValid);

    [Theory]
    [InlineData("meet", "abc_def", 60)]
    [InlineData("meet", "", 60)]
    [InlineData("m33t", "ABC", 60)]
    [InlineData("MEET", "ABC", 0)]
    [InlineData("MEET", "ABC", 86_401)]
    public void Sign_BadInput_IsInvalidRequest(string kind, string subject, int seconds)
    {
        var result = _ringA.Sign(kind, subject, Start.AddSeconds(seconds));

        Assert.Equal(QrCallingErrorCodes.InvalidRequest, result.Error?.Code);
    }

    [Fact]
    public void Sign_WithoutAKey_IsSigningUnavailable_AndVerifiesNothing()
    {
        using var none = Ring(_ => { });
        var qr = Sign(SessionQrKinds.Meet, "X", 60);

        Assert.False(none.CanSign);
        Assert.Empty(none.VerificationKeys);
        Assert.Equal(QrCallingErrorCodes.SigningUnavailable, none.Sign(SessionQrKinds.Meet, "X", Start.AddMinutes(1)).Error?.Code);
        Assert.Equal(SessionQrStatus.UnknownKey, none.Verify(qr.Payload).Status);
    }

    [Fact]
    public void EphemeralKey_SignsAndLogsAWarning()
    {
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        var options = new QrCallingOptions();
        options.SessionQr.EphemeralKey = true;
        using var ring = new SessionQrKeyRing(Options.Create(options), _time, new Microsoft.Extensions.Logging.Testing.FakeLogger<SessionQrKeyRing>(logs));

        var qr = ring.Sign(SessionQrKinds.Room, "R1", Start.AddMinutes(1)).Value;

        Assert.True(ring.Verify(qr.Payload).IsValid);
        var warning = Assert.Single(logs.GetSnapshot());
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("ephemeral", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MeetQr_ToCodePayload_IsTheCodeOfItsToken()
    {
        var code = CodePayload.Format(CodeToken.New());
        var qr = Sign(SessionQrKinds.Meet, code.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars), 60);

        Assert.Equal(code, qr.ToCodePayload());
        Assert.Null(Sign(SessionQrKinds.Room, code.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars), 60).ToCodePayload());
        Assert.DoesNotContain(qr.Subject, qr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeetQr_RendersInAlphanumericMode_AndZbarReadsItBack()
    {
        var code = CodePayload.Format(CodeToken.New());
        var payload = Sign(SessionQrKinds.Meet, code.Substring(CodePayload.Prefix.Length, CodePayload.TokenChars), 3600).Payload;

        // QRCoder picks the mode itself: the symbol is the size of an all-letters text of the same length (alphanumeric),
        // and smaller than the same text forced into byte mode.
        using var chosen = QRCodeGenerator.GenerateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        using var letters = QRCodeGenerator.GenerateQrCode(new string('A', payload.Length), QRCodeGenerator.ECCLevel.M);
        using var bytes = QRCodeGenerator.GenerateQrCode(payload, QRCodeGenerator.ECCLevel.M, forceUtf8: true);
        Assert.Equal(letters.Version, chosen.Version);
        Assert.True(chosen.Version < bytes.Version, $"alphanumeric version {chosen.Version}, byte mode {bytes.Version}");

        var renderer = new QrRenderer(Options.Create(new QrCallingOptions()));
        var decoded = await QrRendererTests.DecodeAsync(renderer.Render(payload.ToLowerInvariant(), QrImageFormat.Png, 4));
        Assert.Equal(payload, decoded);
        Assert.True(_ringA.Verify(decoded).IsValid);
    }

    public void Dispose()
    {
        _ringA.Dispose();
        _keyA.Dispose();
        _keyB.Dispose();
        _files.Dispose();
    }
}
