using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace QrCalling.Hosting.Tests;

/// <summary>A push service on a real Kestrel socket at http://127.0.0.1:port: it records every POST to
/// <c>/push/{id}</c> (headers and body) and answers the status a test sets for that id (201 by default).</summary>
internal sealed class PushReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<ReceivedPush> _received = Channel.CreateUnbounded<ReceivedPush>();

    private PushReceiver(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>http://127.0.0.1:port (no trailing slash).</summary>
    public string BaseUrl { get; }

    /// <summary>Status to answer per subscription id.</summary>
    public ConcurrentDictionary<string, int> Status { get; } = new();

    /// <summary>How long to wait before answering, per subscription id (a push service that hangs).</summary>
    public ConcurrentDictionary<string, TimeSpan> Delay { get; } = new();

    public static async Task<PushReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        PushReceiver? self = null;
        app.MapPost("/push/{id}", async (HttpContext http, string id) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var headers = http.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            await self!._received.Writer.WriteAsync(new ReceivedPush(id, headers, body.ToArray()));
            if (self.Delay.TryGetValue(id, out var delay))
            {
                try { await Task.Delay(delay, http.RequestAborted); } catch (OperationCanceledException) { return Results.Empty; }
            }
            return Results.StatusCode(self.Status.TryGetValue(id, out var status) ? status : StatusCodes.Status201Created);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new PushReceiver(app, address.TrimEnd('/'));
        return self;
    }

    /// <summary>The next push received, within <paramref name="timeout"/> (10 s by default).</summary>
    public async Task<ReceivedPush> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        return await _received.Reader.ReadAsync(cts.Token);
    }

    public bool TryTake(out ReceivedPush? push) => _received.Reader.TryRead(out push);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedPush(string Id, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>What a browser holds for a push subscription: its P-256 key pair and auth secret, and the RFC 8291
/// decryption of an <c>aes128gcm</c> (RFC 8188) body, written here from the RFCs with System.Security.Cryptography.</summary>
internal sealed class BrowserPushKeys : IDisposable
{
    private readonly ECDiffieHellman _key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);

    public BrowserPushKeys()
    {
        var q = _key.ExportParameters(false).Q;
        PublicKey = [0x04, .. q.X!, .. q.Y!];
    }

    public byte[] PublicKey { get; }
    public byte[] AuthSecret { get; } = RandomNumberGenerator.GetBytes(16);

    /// <summary>The browser's <c>{endpoint, keys: {p256dh, auth}}</c>.</summary>
    public object Subscription(string endpoint) => new
    {
        endpoint,
        keys = new { p256dh = WebEncoders.Base64UrlEncode(PublicKey), auth = WebEncoders.Base64UrlEncode(AuthSecret) },
    };

    /// <summary>RFC 8291 section 3.4 and RFC 8188 section 2: header (salt, rs, idlen, keyid = the server's ephemeral
    /// public key), then records of rs bytes each (AES-128-GCM, 16-byte tag); padding delimiter 2 on the last record.</summary>
    public string Decrypt(byte[] body)
    {
        var salt = body[..16];
        var rs = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(16, 4));
        var idLength = body[20];
        if (idLength != 65)
        {
            throw new InvalidDataException($"keyid must be the 65-byte sender public key, was {idLength} bytes.");
        }
        var senderPublic = body[21..86];
        using var sender = ECDiffieHellman.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = senderPublic[1..33], Y = senderPublic[33..65] },
        });
        var ecdhSecret = _key.DeriveRawSecretAgreement(sender.PublicKey);
        // IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" || 0x00 || ua_public || as_public, 32)
        var prkKey = HKDF.Extract(HashAlgorithmName.SHA256, ecdhSecret, AuthSecret);
        byte[] keyInfo = [.. "WebPush: info\0"u8, .. PublicKey, .. senderPublic];
        var ikm = HKDF.Expand(HashAlgorithmName.SHA256, prkKey, 32, keyInfo);
        var prk = HKDF.Extract(HashAlgorithmName.SHA256, ikm, salt);
        var cek = HKDF.Expand(HashAlgorithmName.SHA256, prk, 16, "Content-Encoding: aes128gcm\0"u8.ToArray());
        var nonceBase = HKDF.Expand(HashAlgorithmName.SHA256, prk, 12, "Content-Encoding: nonce\0"u8.ToArray());

        var records = body[86..];
        var plaintext = new List<byte>();
        using var aes = new AesGcm(cek, 16);
        for (long seq = 0, offset = 0; offset < records.Length; seq++, offset += rs)
        {
            var record = records.AsSpan((int)offset, (int)Math.Min(rs, records.Length - offset));
            var nonce = (byte[])nonceBase.Clone();
            var seqBytes = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(seqBytes, seq);
            for (var i = 0; i < 8; i++)
            {
                nonce[4 + i] ^= seqBytes[i];
            }
            var output = new byte[record.Length - 16];
            aes.Decrypt(nonce, record[..^16], record[^16..], output);
            var end = output.Length - 1;
            while (end >= 0 && output[end] == 0)
            {
                end--;
            }
            var last = offset + rs >= records.Length;
            if (end < 0 || output[end] != (last ? 2 : 1))
            {
                throw new InvalidDataException("Bad padding delimiter.");
            }
            plaintext.AddRange(output[..end]);
        }
        return Encoding.UTF8.GetString([.. plaintext]);
    }

    public void Dispose() => _key.Dispose();
}

/// <summary>The VAPID (RFC 8292) <c>Authorization: vapid t=&lt;JWT&gt;, k=&lt;key&gt;</c> header, checked.</summary>
internal static class Vapid
{
    /// <summary>Parses and verifies the header: the ES256 signature with <c>k</c>, and returns (k, claims).</summary>
    public static (string PublicKey, JsonElement Claims) Verify(string authorization)
    {
        if (!authorization.StartsWith("vapid ", StringComparison.Ordinal))
        {
            throw new InvalidDataException("Not the vapid scheme: " + authorization.Split(' ')[0]);
        }
        var parameters = authorization["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var jwt = parameters["t"];
        var k = parameters["k"];
        var parts = jwt.Split('.');
        if (parts.Length != 3)
        {
            throw new InvalidDataException("The JWT must have three parts.");
        }
        var header = JsonDocument.Parse(WebEncoders.Base64UrlDecode(parts[0])).RootElement;
        if (header.GetProperty("alg").GetString() != "ES256")
        {
            throw new InvalidDataException("alg must be ES256.");
        }
        var q = WebEncoders.Base64UrlDecode(k);
        using var key = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = q[1..33], Y = q[33..] } });
        var signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
        if (!key.VerifyData(signed, WebEncoders.Base64UrlDecode(parts[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
        {
            throw new InvalidDataException("The JWT signature does not verify with k.");
        }
        return (k, JsonDocument.Parse(WebEncoders.Base64UrlDecode(parts[1])).RootElement);
    }
}
