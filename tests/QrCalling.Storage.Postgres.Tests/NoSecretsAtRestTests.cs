using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Transport;
using Xunit;

namespace QrCalling.Storage.Postgres.Tests;

/// <summary>After a full flow through the real services, no table of the schema holds a token, payload or call token
/// in any encoding.</summary>
public sealed class NoSecretsAtRestTests : IAsyncLifetime
{
    private readonly string _schema = PostgresTestDatabase.NewSchemaName();
    private ServiceProvider _provider = null!;

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<ITransport, NullTransport>();
        services.AddQrCallingCore(o => o.Pepper = "a-pepper-of-at-least-16-chars")
            .UsePostgresStorage(o =>
            {
                o.DataSource = PostgresTestDatabase.DataSource;
                o.Schema = _schema;
            });
        _provider = services.BuildServiceProvider();
        foreach (var hosted in _provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(default); // applies the migrations, as a host would
        }
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        await PostgresTestDatabase.DropSchemaAsync(_schema);
    }

    [Fact]
    public async Task TableDump_AfterFullFlow_HoldsNoTokenPayloadOrCallTokenInAnyEncoding()
    {
        var codes = _provider.GetRequiredService<CodeService>();
        var calls = _provider.GetRequiredService<CallService>();
        var hasher = _provider.GetRequiredService<TokenHasher>();
        const string owner = "owner-1";
        var secrets = new List<(string What, string Text)>();
        var keyHashes = new List<string>();

        IssuedCode? first = null;
        for (var i = 0; i < 3; i++)
        {
            var issued = (await codes.IssueAsync(owner, new CodeSpec { Label = $"Door {i}", MaxScans = 10 }, default)).Value;
            first ??= issued;
            Assert.True((await codes.ScanAsync(issued.Payload, default)).IsSuccess);
            var token = CodePayload.Parse(issued.Payload).Token!;
            secrets.AddRange(Forms("payload token", token.Bytes.ToArray()));
            secrets.Add(("payload", issued.Payload));
            secrets.Add(("payload token (base32)", issued.Payload.Split(':')[2]));
            keyHashes.Add(Convert.ToHexStringLower(hasher.Hash(token.Bytes)));
        }
        var started = (await calls.StartAsync(first!.Payload, MediaKind.Audio, default)).Value;
        var callId = started.Call.CallId;
        secrets.Add(("call token", started.CallToken));
        var callTokenBody = started.CallToken[CallService.CallTokenPrefix.Length..];
        secrets.Add(("call token body", callTokenBody));
        secrets.AddRange(Forms("call token", Base64Url.DecodeFromChars(callTokenBody)));
        Assert.True((await calls.AcceptAsync(CallActor.OwnerDevice(owner, "device-1"), callId, default)).IsSuccess);
        var caller = (await calls.AuthenticateCallerAsync(started.CallToken, default))!;
        using var offer = JsonDocument.Parse("""{"type":"offer","sdp":"v=0 relayed-data-marker"}""");
        Assert.True((await calls.SignalAsync(caller, callId, "offer", offer.RootElement, default)).IsSuccess);
        Assert.True((await calls.SignalAsync(caller, callId, "ice-candidate", offer.RootElement, default)).IsSuccess);
        Assert.True((await calls.HangupAsync(caller, callId, default)).IsSuccess);

        var dump = await DumpAsync();

        // Positive controls: the dump holds what storage must keep (keyed hashes, relayed data), so the search works.
        Assert.All(keyHashes, hash => Assert.Contains(hash, dump, StringComparison.OrdinalIgnoreCase));
        Assert.Contains("relayed-data-marker", dump, StringComparison.Ordinal);
        foreach (var (what, text) in secrets)
        {
            Assert.False(dump.Contains(text, StringComparison.OrdinalIgnoreCase), $"The table dump holds the {what}.");
        }
    }

    private static IEnumerable<(string, string)> Forms(string what, byte[] bytes) =>
    [
        ($"{what} (hex)", Convert.ToHexString(bytes)),
        ($"{what} (base64)", Convert.ToBase64String(bytes).TrimEnd('=')),
        ($"{what} (base64url)", Base64Url.EncodeToString(bytes)),
        ($"{what} (base32)", Base32Lower(bytes)),
        ($"{what} (latin1)", Encoding.Latin1.GetString(bytes)),
    ];

    private static string Base32Lower(byte[] bytes)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var sb = new StringBuilder();
        int buffer = 0, bits = 0;
        foreach (var b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                sb.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        if (bits > 0)
        {
            sb.Append(alphabet[(buffer << (5 - bits)) & 31]);
        }
        return sb.ToString();
    }

    /// <summary>Every row of every table of the schema as text (bytea as hex).</summary>
    private async Task<string> DumpAsync()
    {
        var tables = new List<string>();
        await using (var list = PostgresTestDatabase.DataSource.CreateCommand("SELECT tablename::text FROM pg_tables WHERE schemaname = @s"))
        {
            list.Parameters.AddWithValue("s", _schema);
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }
        Assert.Contains("mailbox", tables);
        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            await using var cmd = PostgresTestDatabase.DataSource.CreateCommand($"SELECT t::text FROM \"{_schema}\".\"{table}\" t");
            await using var reader = await cmd.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }
        return dump.ToString();
    }

    private sealed class NullTransport : ITransport
    {
        public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
    }
}
