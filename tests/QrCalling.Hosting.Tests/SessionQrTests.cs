using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Codes;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Signed session QR over HTTP: meet-now codes (<c>POST /codes {signed: true}</c>), <c>POST /verify-qr</c> and
/// <c>GET /verify-qr/keys</c>, and a call started from a signed meet code.</summary>
public sealed class SessionQrTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("qrcalling-hosting-keys-").FullName;

    private string KeyFile(ECDsa key, string name, bool publicOnly = false)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, publicOnly ? key.ExportSubjectPublicKeyInfoPem() : key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    private Task<TestHost> StartAsync(ECDsa? signing, ECDsa? previous = null, TimeProvider? time = null, Action<Microsoft.AspNetCore.Builder.WebApplicationBuilder>? configure = null) =>
        TestHost.StartAsync(core: o =>
        {
            if (signing is not null)
            {
                o.SessionQr.SigningKey = new SessionQrKeyFile { Path = KeyFile(signing, Guid.NewGuid().ToString("N") + ".pem") };
            }
            if (previous is not null)
            {
                o.SessionQr.PreviousKeys.Add(new SessionQrKeyFile { Path = KeyFile(previous, Guid.NewGuid().ToString("N") + ".pem", publicOnly: true) });
            }
        }, time: time, configure: configure);

    private static async Task<JsonElement> VerifyAsync(HttpClient client, string? payload)
    {
        var response = await client.PostAsync("/api/v1/verify-qr", Http.Json(new { payload }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement;
    }

    private static async Task AssertInvalidAsync(HttpClient client, string? payload)
    {
        var json = await VerifyAsync(client, payload);
        Assert.Equal("{\"valid\":false}", json.GetRawText());
    }

    private static string ChangeOneCharacter(string payload, int fromEnd)
    {
        var i = payload.Length - fromEnd;
        var replacement = payload[i] == 'A' ? 'B' : 'A';
        return string.Concat(payload.AsSpan(0, i), replacement.ToString(), payload.AsSpan(i + 1));
    }

    [Fact]
    public async Task SignedCode_VerifiesInPayloadAndLinkForm_WithItsExpiryAndKeyId()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(key);
        var code = await host.Client(owner: "alice").IssueCodeAsync(new { label = "Meet now", signed = true, expiresInSeconds = 900 });
        var signed = code.GetProperty("signedPayload").GetString()!;
        var link = code.GetProperty("signedLink").GetString()!;
        var keyId = code.GetProperty("keyId").GetString()!;

        Assert.StartsWith("PQS:1:MEET:" + keyId + ":", signed);
        Assert.Equal("http://localhost/c#" + signed, link);
        Assert.Matches("^[A-Z0-9:-]+$", signed);
        Assert.StartsWith("PQC:1:", code.GetProperty("payload").GetString()); // the plain code is there too
        foreach (var text in new[] { signed, link, "  " + signed.ToLowerInvariant() + " " })
        {
            var json = await VerifyAsync(host.Client(), text);
            Assert.True(json.GetProperty("valid").GetBoolean());
            Assert.Equal(keyId, json.GetProperty("keyId").GetString());
            Assert.Equal("meet", json.GetProperty("kind").GetString());
            var expiresAt = json.GetProperty("expiresAt").GetDateTimeOffset();
            Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(code.GetProperty("expiresAt").GetDateTimeOffset().ToUnixTimeSeconds()), expiresAt);
        }
    }

    [Fact]
    public async Task VerifyQr_TamperedForeignPlainOrGarbage_IsValidFalse()
    {
        using var ours = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var theirs = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(ours);
        await using var foreignHost = await StartAsync(theirs);
        var code = await host.Client(owner: "alice").IssueCodeAsync(new { signed = true });
        var signed = code.GetProperty("signedPayload").GetString()!;
        var foreign = (await foreignHost.Client(owner: "mallory").IssueCodeAsync(new { signed = true })).GetProperty("signedPayload").GetString()!;
        var anyone = host.Client();

        await AssertInvalidAsync(anyone, ChangeOneCharacter(signed, 1));   // the signature
        await AssertInvalidAsync(anyone, ChangeOneCharacter(signed, 110)); // the subject
        await AssertInvalidAsync(anyone, signed.Replace(":MEET:", ":ROOM:", StringComparison.Ordinal));
        await AssertInvalidAsync(anyone, foreign);
        await AssertInvalidAsync(anyone, foreign.Replace(foreign.Split(':')[3], signed.Split(':')[3], StringComparison.Ordinal)); // our key id, their signature
        await AssertInvalidAsync(anyone, code.GetProperty("payload").GetString());
        await AssertInvalidAsync(anyone, "hello");
        await AssertInvalidAsync(anyone, "");
        // Nor does a tampered or foreign one start a call.
        (await anyone.PostAsync("/api/v1/scan", Http.Json(new { payload = foreign }))).EnsureStatus(HttpStatusCode.NotFound);
        await (await anyone.PostAsync("/api/v1/calls", Http.Json(new { payload = ChangeOneCharacter(signed, 10), media = "chat" })))
            .AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
        // A signed QR whose last character sets unused bits is mis-shaped: malformed, like a mistyped code.
        var lastChar = signed[^1] == 'B' ? 'C' : 'B';
        await (await anyone.PostAsync("/api/v1/scan", Http.Json(new { payload = signed[..^1] + lastChar })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed");
        // A body without a payload is a bad request.
        await (await anyone.PostAsync("/api/v1/verify-qr", Http.Json(new { }))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        await (await anyone.PostAsync("/api/v1/verify-qr", Http.Raw("{"))).AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task SignedCode_AfterItsExpiry_IsValidFalse_AndCannotBeCalled()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        await using var host = await StartAsync(key, time: time);
        var code = await host.Client(owner: "alice").IssueCodeAsync(new { signed = true, expiresInSeconds = 120 });
        var signed = code.GetProperty("signedPayload").GetString()!;
        Assert.True((await VerifyAsync(host.Client(), signed)).GetProperty("valid").GetBoolean());

        time.Advance(TimeSpan.FromSeconds(120));

        await AssertInvalidAsync(host.Client(), signed);
        await (await host.Client().PostAsync("/api/v1/scan", Http.Json(new { payload = signed }))).AssertProblemAsync(HttpStatusCode.NotFound, "unavailable");
    }

    [Fact]
    public async Task Qr_RendersTheSignedPayloadOrLink_AndRefusesATamperedOne()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(key);
        var owner = host.Client(owner: "alice");
        var signed = (await owner.IssueCodeAsync(new { signed = true })).GetProperty("signedPayload").GetString()!;

        foreach (var form in new[] { "payload", "link" })
        {
            var response = await owner.PostAsync("/api/v1/qr", Http.Json(new { payload = signed.ToLowerInvariant(), format = "svg", form }));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/svg+xml", response.Content.Headers.ContentType?.MediaType);
        }
        await (await owner.PostAsync("/api/v1/qr", Http.Json(new { payload = ChangeOneCharacter(signed, 10), format = "png" })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "malformed");
    }

    [Fact]
    public async Task Keys_ListTheSigningKeyThenOldOnes_AndAClientVerifiesOfflineWithThem_AcrossRotation()
    {
        using var oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string oldSigned;
        await using (var before = await StartAsync(oldKey))
        {
            oldSigned = (await before.Client(owner: "alice").IssueCodeAsync(new { signed = true })).GetProperty("signedPayload").GetString()!;
        }
        await using var rotated = await StartAsync(newKey, previous: oldKey);
        await using var removed = await StartAsync(newKey);

        var response = await rotated.Client().GetAsync("/api/v1/verify-qr/keys");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=3600", response.Headers.CacheControl?.ToString());
        var keys = (await response.ReadJsonAsync()).GetProperty("keys").EnumerateArray().ToList();
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.Equal("ES256", k.GetProperty("alg").GetString()));
        var publicKeys = keys.Select(k => SessionQrPublicKey.FromBase64Url(k.GetProperty("spki").GetString()!)).ToList();
        Assert.Equal(keys.Select(k => k.GetProperty("kid").GetString()), publicKeys.Select(k => k.KeyId));
        Assert.Equal(SessionQrPublicKey.FromSubjectPublicKeyInfo(newKey.ExportSubjectPublicKeyInfo()).KeyId, publicKeys[0].KeyId);

        // Offline, with the keys only: the old key's QR still verifies while listed; the removed key's no longer.
        Assert.True(SessionQrVerifier.Verify(oldSigned, publicKeys, DateTimeOffset.UtcNow).IsValid);
        Assert.True((await VerifyAsync(rotated.Client(), oldSigned)).GetProperty("valid").GetBoolean());
        await AssertInvalidAsync(removed.Client(), oldSigned);
        var removedKeys = (await (await removed.Client().GetAsync("/api/v1/verify-qr/keys")).ReadJsonAsync()).GetProperty("keys").EnumerateArray()
            .Select(k => SessionQrPublicKey.FromBase64Url(k.GetProperty("spki").GetString()!)).ToList();
        Assert.Equal(SessionQrStatus.UnknownKey, SessionQrVerifier.Verify(oldSigned, removedKeys, DateTimeOffset.UtcNow).Status);
    }

    [Fact]
    public async Task SignedCode_WithoutASigningKey_IsSigningUnavailable_AndV1CodesAreUnchanged()
    {
        await using var host = await StartAsync(signing: null);
        var owner = host.Client(owner: "alice");

        await (await owner.PostAsync("/api/v1/codes", Http.Json(new { signed = true }))).AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "signing_unavailable");
        var plain = await owner.IssueCodeAsync(new { label = "v1" });
        Assert.Equal(["id", "payload", "link", "label", "media", "createdAt", "expiresAt", "maxScans"], plain.EnumerateObject().Select(p => p.Name));
        var unsigned = await owner.IssueCodeAsync(new { label = "v1", signed = false });
        Assert.False(unsigned.TryGetProperty("signedPayload", out _));
        Assert.Equal(JsonValueKind.Null, unsigned.GetProperty("expiresAt").ValueKind);
        var keys = await (await host.Client().GetAsync("/api/v1/verify-qr/keys")).ReadJsonAsync();
        Assert.Empty(keys.GetProperty("keys").EnumerateArray());
    }

    [Fact]
    public async Task SignedCode_LifetimeDefaultsToMeetLifetime_AndIsCappedByMaxLifetime()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        await using var host = await StartAsync(key, time: time);
        var owner = host.Client(owner: "alice");

        var code = await owner.IssueCodeAsync(new { signed = true });
        Assert.Equal(time.GetUtcNow().AddHours(1), code.GetProperty("expiresAt").GetDateTimeOffset());
        await (await owner.PostAsync("/api/v1/codes", Http.Json(new { signed = true, expiresInSeconds = 86_401 })))
            .AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
    }

    [Theory]
    [InlineData(HttpTransportType.WebSockets)]
    [InlineData(HttpTransportType.LongPolling)]
    public async Task MeetNow_CallerScansTheSignedLinkAndCalls_TheOwnersDeviceRingsAndAccepts_NothingSignedIsLogged(HttpTransportType transport)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(key, configure: b =>
        {
            b.Logging.SetMinimumLevel(LogLevel.Trace);
            b.Logging.AddFilter("Microsoft", LogLevel.Trace);
        });
        var code = await host.Client(owner: "alice").IssueCodeAsync(new { label = "Standup", signed = true, media = new[] { "audio", "chat" } });
        var signed = code.GetProperty("signedPayload").GetString()!;
        var link = code.GetProperty("signedLink").GetString()!;
        var device = await host.ConnectAsync(transport, owner: "alice", deviceId: "laptop");
        var anonymous = host.Client();

        var scan = await (await anonymous.PostAsync("/api/v1/scan", Http.Json(new { payload = link }))).ReadJsonAsync();
        Assert.Equal("Standup", scan.GetProperty("label").GetString());
        var started = await anonymous.StartCallAsync(signed.ToLowerInvariant(), "chat");
        var callId = started.GetProperty("callId").GetString()!;
        var ring = await device.WaitForAsync("IncomingCall");
        Assert.Equal(callId, ring.GetProperty("callId").GetString());
        Assert.Equal("Standup", ring.GetProperty("label").GetString());
        var caller = await host.ConnectAsync(transport, callToken: started.GetProperty("callToken").GetString());
        await device.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");
        await caller.Connection.InvokeAsync("Hangup", callId);
        await device.WaitForAsync("CallEnded");
        Assert.True((await VerifyAsync(anonymous, link)).GetProperty("valid").GetBoolean());

        var logs = host.Logs.AllText;
        Assert.Contains("issued with a session QR signed by key " + code.GetProperty("keyId").GetString(), logs);
        var parts = signed.Split(':');
        foreach (var secret in new[] { signed, signed.ToLowerInvariant(), link, parts[5], parts[6], code.GetProperty("payload").GetString()! })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Configuration_BindsTheSigningAndPreviousKeys_AndABadKeyStopsStartUpNamingIt()
    {
        using var current = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var old = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        var settings = new Dictionary<string, string?>
        {
            ["QrCalling:SessionQr:SigningKey:Path"] = KeyFile(current, "current.pem"),
            ["QrCalling:SessionQr:PreviousKeys:0:Path"] = KeyFile(old, "old.pem", publicOnly: true),
            ["QrCalling:SessionQr:MeetLifetime"] = "00:30:00",
        };
        var services = new ServiceCollection().AddLogging();
        services.AddQrCalling(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        await using (var provider = services.BuildServiceProvider())
        {
            var signer = provider.GetRequiredService<ISessionQrSigner>();
            Assert.True(signer.CanSign);
            Assert.Equal(TimeSpan.FromMinutes(30), provider.GetRequiredService<IOptions<QrCallingOptions>>().Value.SessionQr.MeetLifetime);
            Assert.Equal(new[] { current, old }.Select(k => SessionQrPublicKey.FromSubjectPublicKeyInfo(k.ExportSubjectPublicKeyInfo()).KeyId),
                signer.VerificationKeys.Select(k => k.KeyId));
        }

        settings["QrCalling:SessionQr:SigningKey:Path"] = KeyFile(p384, "p384.pem");
        var bad = new ServiceCollection().AddLogging();
        bad.AddQrCalling(
            new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        await using var badProvider = bad.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() =>
            badProvider.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("QrCalling:SessionQr:SigningKey:Path", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong curve", ex.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
    [Fact]
    public async Task SignedRoom_VerifiesOffline_JoinsByItsSignedLink_AndATamperedOneJoinsNothing()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(key);
        var client = host.Client();

        var response = await client.PostAsync("/api/v1/rooms", Http.Json(new { signed = true }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var room = JsonDocument.Parse(text).RootElement;
        var roomId = room.GetProperty("roomId").GetString()!;
        var signedPayload = room.GetProperty("signedPayload").GetString()!;
        var signedLink = room.GetProperty("signedLink").GetString()!;
        Assert.Matches("^PQS:1:ROOM:[A-Z2-7]{8}:[0-9]+:[A-Z2-7]{26}-[A-Z2-7]{52}:[A-Z2-7]+$", signedPayload);
        Assert.Equal("http://localhost/room#" + signedPayload, signedLink);
        Assert.Contains(roomId, signedPayload, StringComparison.Ordinal);

        // Offline, with the public key only; and through verify-qr.
        var offline = SessionQrVerifier.Verify(signedLink, [SessionQrPublicKey.FromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo())], DateTimeOffset.UtcNow);
        Assert.True(offline.IsValid, offline.Error);
        Assert.Equal(SessionQrKinds.Room, offline.Qr!.Kind);
        var verified = await VerifyAsync(client, signedLink);
        Assert.True(verified.GetProperty("valid").GetBoolean());
        Assert.Equal(room.GetProperty("keyId").GetString(), verified.GetProperty("keyId").GetString());

        // The signed link joins the room the plain link names.
        var joined = await client.PostAsync("/api/v1/rooms/join", Http.Json(new { link = signedLink, displayName = "Ana" }));
        var joinedText = await joined.Content.ReadAsStringAsync();
        Assert.True(joined.StatusCode == HttpStatusCode.OK, joinedText);
        Assert.Equal(roomId, JsonDocument.Parse(joinedText).RootElement.GetProperty("roomId").GetString());

        // One character changed anywhere in the signed part: the same answer as any unknown room.
        foreach (var fromEnd in new[] { 1, 110 })
        {
            var tampered = await client.PostAsync("/api/v1/rooms/join", Http.Json(new { payload = ChangeOneCharacter(signedPayload, fromEnd) }));
            Assert.Equal(HttpStatusCode.NotFound, tampered.StatusCode);
            Assert.Contains("room_unavailable", await tampered.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RoomQr_OfTheSignedLink_RendersForAParticipant_AndATamperedOrOtherRoomsSignedLinkIsRefused()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var host = await StartAsync(key);
        var client = host.Client();
        var room = (await (await client.PostAsync("/api/v1/rooms", Http.Json(new { signed = true }))).ReadJsonAsync());
        var other = (await (await client.PostAsync("/api/v1/rooms", Http.Json(new { signed = true }))).ReadJsonAsync());
        var roomId = room.GetProperty("roomId").GetString()!;
        var signedLink = room.GetProperty("signedLink").GetString()!;
        var joined = await (await client.PostAsync("/api/v1/rooms/join", Http.Json(new { link = signedLink }))).ReadJsonAsync();
        var participant = host.Client(bearer: joined.GetProperty("participantToken").GetString());

        var qr = await participant.PostAsync($"/api/v1/rooms/{roomId}/qr", Http.Json(new { link = signedLink, format = "svg" }));
        Assert.Equal(HttpStatusCode.OK, qr.StatusCode);
        Assert.Equal("image/svg+xml", qr.Content.Headers.ContentType?.MediaType);
        var tampered = signedLink[..^1] + (signedLink[^1] == 'A' ? 'Q' : 'A');
        foreach (var wrong in new[] { tampered, other.GetProperty("signedLink").GetString()! })
        {
            var refused = await participant.PostAsync($"/api/v1/rooms/{roomId}/qr", Http.Json(new { link = wrong, format = "svg" }));
            await refused.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid_request");
        }
    }

    [Fact]
    public async Task SignedRoom_WithoutASigningKey_IsRefusedWithSigningUnavailable()
    {
        await using var host = await StartAsync(signing: null);
        var response = await host.Client().PostAsync("/api/v1/rooms", Http.Json(new { signed = true }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("signing_unavailable", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}

internal static class ResponseAssertions
{
    public static void EnsureStatus(this HttpResponseMessage response, HttpStatusCode status) => Assert.Equal(status, response.StatusCode);
}
