#!/usr/bin/env -S dotnet run
// Writes session-qr-v1.json: test vectors of signed session QR (docs/protocol.md "Signed session QR (additive)"), signed
// by QrCalling.Core's own signer (ISessionQrSigner, as a host registers it) with the fixed test keys below. ECDSA
// signatures are randomized, so a new run writes other signatures (every case still holds); the file in the repository
// is the one the tests check, against the .NET verifier (Core tests) and the JavaScript module (browser tests).
// From the repository root:   dotnet run tests/vectors/make-session-qr-v1.cs
// The keys are test keys, published here: never use them for a host.
#:project ../../src/QrCalling.Core/QrCalling.Core.csproj
#:package Microsoft.Extensions.DependencyInjection
#:package Microsoft.Extensions.Logging
#:property PublishAot=false
#:property TreatWarningsAsErrors=false
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using QrCalling;
using QrCalling.Codes;

const string TestKeyPem = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBOKnxF8ya0hS55+c
    Ay6qY+eXgFttg4/Oi0uqsL9Ux1OhRANCAATK0vog+GWQUKwcXkiE4e8N8Eyyyn6X
    iv/xm5CxS7sDjcPS8ix5+XKPd2D5D7bOxPzIMqAoZWybdc5iot1hyUTv
    -----END PRIVATE KEY-----
    """;
// Another host's key: what it signs is "unknown-key" for the test key's list.
const string OtherKeyPem = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPRLkYoLHK0SIntla
    KiYNFwLsT7yL7hn9YkBaGmFQUwShRANCAASnExqOWaMJmL1L0Jqj8cVRs0nART6i
    NPcQuFmIXlArzYdjo21giOoZ71glcXk3IuK8fuYxEw6OolvbgIvAuBq4
    -----END PRIVATE KEY-----
    """;

var signedAt = DateTimeOffset.FromUnixTimeSeconds(1796126400); // 2026-12-01T12:00:00Z
var expiry = signedAt.AddHours(1);
var output = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(args.Length > 0 ? args[0] : "tests/vectors/session-qr-v1.json"))!,
    "session-qr-v1.json");

var folder = Directory.CreateTempSubdirectory("qrcalling-vectors-").FullName;
try
{
    var test = Signer(TestKeyPem, "test.pem");
    var other = Signer(OtherKeyPem, "other.pem");
    var key = test.VerificationKeys[0];
    const string MeetSubject = "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQTCQKRMFYYDENBWHA5DYPQ"; // a code token: 52 base32 characters
    const string RoomSubject = "MFRGGZDFMZTWQ2LKNNWG23TPOA-OFZHG5DVOZ3XQ6L2PN6H27T7QCAYFA4EQWDIPCEJRKFYZDMOR6IA";
    var meet = test.Sign(SessionQrKinds.Meet, MeetSubject, expiry).Value.Payload;
    var room = test.Sign(SessionQrKinds.Room, RoomSubject, expiry).Value.Payload;
    var foreign = other.Sign(SessionQrKinds.Meet, MeetSubject, expiry).Value.Payload;
    var before = expiry.ToUnixTimeSeconds() - 600;
    var at = expiry.ToUnixTimeSeconds();

    var cases = new JsonArray();
    void Case(string name, string text, long now, string note)
    {
        var result = SessionQrVerifier.Verify(text, test.VerificationKeys, DateTimeOffset.FromUnixTimeSeconds(now));
        var entry = new JsonObject
        {
            ["name"] = name,
            ["note"] = note,
            ["text"] = text,
            ["now"] = now,
            ["status"] = Status(result.Status),
        };
        if (result.Qr is { } qr)
        {
            entry["kind"] = qr.Kind;
            entry["keyId"] = qr.KeyId;
            entry["expiry"] = qr.ExpiresAt.ToUnixTimeSeconds();
            entry["subject"] = qr.Subject;
            entry["payload"] = qr.Payload;
        }
        cases.Add(entry);
    }

    var head = meet[..(meet.LastIndexOf(':') + 1)];
    var signature = meet[(meet.LastIndexOf(':') + 1)..];
    Case("valid-meet", meet, before, "the payload as issued, ten minutes before it expires");
    Case("valid-room", room, before, "a ROOM QR; its subject is <roomId>-<secret>");
    Case("lower-case", meet.ToLowerInvariant(), before, "parsing ignores case: the lower-case payload is the same QR");
    Case("link", "https://call.example.org/c#" + meet, before, "the link form: the payload is the fragment");
    Case("link-lower-case-white-space", "  HTTPS://CALL.EXAMPLE.ORG/C#" + meet.ToLowerInvariant() + " \n", before, "a link in another case with white space around");
    Case("link-last-hash", "https://call.example.org/c#not-this#" + meet, before, "the part after the last '#' counts");
    Case("white-space-nbsp", "\u00a0" + meet + "\u2003", before, "Unicode white space around is trimmed (as .NET's String.Trim)");
    Case("expired-at-expiry", meet, at, "valid while now < expiry: at the expiry it has expired");
    Case("expired-later", meet, at + 86400, "a day after its expiry");
    Case("tampered-subject", head.Replace(":AAAQ", ":BAAQ", StringComparison.Ordinal) + signature, before, "one character of the subject changed");
    Case("tampered-expiry", head.Replace(":" + at + ":", ":" + (at + 1) + ":", StringComparison.Ordinal) + signature, before, "the expiry moved by one second");
    Case("tampered-kind", room.Replace("PQS:1:ROOM:", "PQS:1:MEET:", StringComparison.Ordinal), before, "a ROOM QR relabelled MEET");
    Case("flipped-signature-bit", head + FlipBit(signature, 100), before, "bit 100 of the 64 signature bytes flipped (canonical base32)");
    Case("flipped-signature-first-bit", head + FlipBit(signature, 0), before, "the first bit of r flipped");
    Case("unknown-key", foreign, before, "signed by another key, not in the list");
    Case("unknown-key-expired", foreign, at + 1, "another host's expired QR: the key is checked first");
    Case("malformed-non-canonical-signature", head + NonCanonical(signature), before, "the last signature character has unused bits set");
    Case("malformed-short-signature", head + signature[..^1], before, "one signature character missing");
    Case("malformed-leading-zero-expiry", head.Replace(":" + at + ":", ":0" + at + ":", StringComparison.Ordinal) + signature, before, "expiry with a leading zero");
    Case("malformed-six-parts", meet.Replace(":" + MeetSubject + ":", ":", StringComparison.Ordinal), before, "no subject");
    Case("malformed-prefix", "PQS:2:" + meet["PQS:1:".Length..], before, "another version");
    Case("malformed-plain-code", "PQC:1:" + MeetSubject + ":ABCDEFG", before, "a plain code is no signed QR");
    Case("malformed-non-ascii", meet.Replace("MEET", "MEËT", StringComparison.Ordinal), before, "a non-ASCII character");
    Case("malformed-kind-digit", meet.Replace("PQS:1:MEET:", "PQS:1:MEE7:", StringComparison.Ordinal), before, "the kind is letters only");
    Case("malformed-subject-underscore", meet.Replace(":AAAQ", ":A_AQ", StringComparison.Ordinal), before, "'_' is not in the subject alphabet");
    Case("malformed-empty", "", before, "nothing");

    var document = new JsonObject
    {
        ["description"] = "Signed session QR v1 (docs/protocol.md \"Signed session QR (additive)\"): payloads signed by QrCalling.Core's "
            + "signer with the test key below, each with a time 'now' (Unix seconds) and the status the verifier gives with the key "
            + "list [testKey]. Written by make-session-qr-v1.cs; checked by QrCalling.Core.Tests (SessionQrVectorTests) and, in "
            + "Chromium, by QrCalling.Browser.Tests (session-qr-vectors-check.js). Test keys only.",
        ["testKey"] = new JsonObject { ["kid"] = key.KeyId, ["alg"] = "ES256", ["spki"] = key.ToBase64Url(), ["pkcs8Pem"] = TestKeyPem },
        ["otherKey"] = new JsonObject { ["kid"] = other.VerificationKeys[0].KeyId, ["alg"] = "ES256", ["spki"] = other.VerificationKeys[0].ToBase64Url() },
        ["cases"] = cases,
    };
    File.WriteAllText(output, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
    Console.WriteLine($"Wrote {cases.Count} cases to {output}");
}
finally
{
    Directory.Delete(folder, recursive: true);
}

ISessionQrSigner Signer(string pem, string name)
{
    var path = Path.Combine(folder, name);
    File.WriteAllText(path, pem);
    var services = new ServiceCollection();
    services.AddLogging();
    services.AddSingleton<TimeProvider>(new FixedTime(signedAt));
    services.AddQrCallingCore(o =>
    {
        o.Pepper = Convert.ToBase64String(new byte[32]);
        o.SessionQr.SigningKey = new SessionQrKeyFile { Path = path };
    });
    return services.BuildServiceProvider().GetRequiredService<ISessionQrSigner>();
}

static string Status(SessionQrStatus status) => status switch
{
    SessionQrStatus.Valid => "valid",
    SessionQrStatus.Malformed => "malformed",
    SessionQrStatus.UnknownKey => "unknown-key",
    SessionQrStatus.BadSignature => "bad-signature",
    SessionQrStatus.Expired => "expired",
    _ => throw new ArgumentOutOfRangeException(nameof(status)),
};

static string FlipBit(string base32, int bit)
{
    var bytes = Base32Decode(base32, 64);
    bytes[bit / 8] ^= (byte)(0x80 >> (bit % 8));
    return Base32Encode(bytes);
}

// The last character of 64 bytes carries 2 data bits and 3 unused ones: set the lowest.
static string NonCanonical(string base32)
{
    const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    var last = Alphabet.IndexOf(base32[^1], StringComparison.Ordinal);
    return base32[..^1] + Alphabet[last | 1];
}

static byte[] Base32Decode(string text, int length)
{
    const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    var bytes = new byte[length];
    int buffer = 0, bits = 0, o = 0;
    foreach (var c in text)
    {
        buffer = ((buffer << 5) | Alphabet.IndexOf(c, StringComparison.Ordinal)) & 0xFFFF;
        bits += 5;
        if (bits >= 8)
        {
            bits -= 8;
            bytes[o++] = (byte)(buffer >> bits);
        }
    }
    return bytes;
}

static string Base32Encode(byte[] bytes)
{
    const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    var chars = new System.Text.StringBuilder();
    int buffer = 0, bits = 0;
    foreach (var b in bytes)
    {
        buffer = ((buffer << 8) | b) & 0xFFFF;
        bits += 8;
        while (bits >= 5)
        {
            bits -= 5;
            chars.Append(Alphabet[(buffer >> bits) & 31]);
        }
    }
    if (bits > 0)
    {
        chars.Append(Alphabet[(buffer << (5 - bits)) & 31]);
    }
    return chars.ToString();
}

sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
