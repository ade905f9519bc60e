using System.Buffers;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Xunit;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Hosting.Http;
using QrCalling.Hosting.Hubs;
using QrCalling.Testing;
using QrCalling.Transport;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>The hub over SignalR's MessagePack protocol: opt-in only, the same event shapes as JSON, data converted both
/// ways between MessagePack and JSON clients, and data with no JSON form refused as <c>invalid_request</c>.</summary>
public sealed class MessagePackTests
{
    private const string Ciphertext = "Q2lwaGVydGV4dC1tc2dwYWNr";

    /// <summary>Data of every JSON kind: nested objects and arrays, non-ASCII text, negative, large and fractional
    /// numbers, booleans and null.</summary>
    private static JsonElement RichData(string sdp) => JsonDocument.Parse($$$"""
        {"type":"offer","sdp":"{{{sdp}}}","meta":{"émoji":"café ☕ 😀","n":[0,-1,127,128,-129,65536,4294967296,-9223372036854775808,18446744073709551615,0.5,-2.25],
         "flags":[true,false,null],"empty":{},"none":[],"nested":[[["deep"]]]}}
        """).RootElement;

    private static Task<TestHost> StartAsync(Action<QrCallingHostingOptions>? hosting = null) =>
        TestHost.StartAsync(hosting: hosting, configure: b => b.Services.AddQrCalling().AddMessagePackProtocol());

    private static Task<HubEventRecorder> ConnectAsync(TestHost host, bool messagePack, string? owner = null, string? deviceId = null, string? callToken = null,
        HttpTransportType transport = HttpTransportType.WebSockets) =>
        host.ConnectAsync(transport, owner: owner, deviceId: deviceId, callToken: callToken, protocol: messagePack ? TestMessagePack.Use : null);

    [Theory]
    [InlineData(true, HttpTransportType.WebSockets)]
    [InlineData(false, HttpTransportType.WebSockets)]
    [InlineData(true, HttpTransportType.LongPolling)]
    [InlineData(false, HttpTransportType.LongPolling)]
    public async Task FullCall_MixedProtocols_DataCrossesAndEveryEventLooksAsOverJson(bool messagePackCaller, HttpTransportType transport)
    {
        await using var host = await StartAsync();
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync(new { label = "Tür", media = new[] { "audio", "video", "chat" } })).GetProperty("payload").GetString()!;

        // Each side has the connection under test and a twin on the other protocol (the same device id, the same call
        // token), which receives the same events: the two renderings must match.
        var device = await ConnectAsync(host, !messagePackCaller, owner: "alice", deviceId: "phone", transport: transport);
        var deviceTwin = await ConnectAsync(host, messagePackCaller, owner: "alice", deviceId: "phone", transport: transport);
        var started = await host.Client().StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        await device.WaitForAsync("IncomingCall");
        await deviceTwin.WaitForAsync("IncomingCall");
        var caller = await ConnectAsync(host, messagePackCaller, callToken: callToken, transport: transport);
        var callerTwin = await ConnectAsync(host, !messagePackCaller, callToken: callToken, transport: transport);

        // Early offer, accept, answer and ICE: the data arrives as sent, whichever protocol sent or received it.
        var offer = RichData("v=0 offer");
        Assert.Equal(1, await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", offer));
        await device.Connection.InvokeAsync("Accept", callId);
        foreach (var d in new[] { device, deviceTwin })
        {
            Assert.True(JsonElement.DeepEquals(offer, (await d.WaitForAsync("Signal")).GetProperty("data")));
        }
        var answer = RichData("v=0 answer");
        var ice = JsonDocument.Parse("""{"candidate":"candidate:1 1 udp 2122260223 10.0.0.7 54321 typ host","sdpMid":"0","sdpMLineIndex":0}""").RootElement;
        var answerSeq = await device.Connection.InvokeAsync<long>("Signal", callId, "answer", answer);
        var iceSeq = await device.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", ice);
        foreach (var c in new[] { caller, callerTwin })
        {
            await c.WaitForAsync("CallAccepted");
            Assert.True(JsonElement.DeepEquals(answer, (await c.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == answerSeq)).GetProperty("data")));
            Assert.True(JsonElement.DeepEquals(ice, (await c.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == iceSeq)).GetProperty("data")));
        }

        // Chat and typing both ways.
        var chatToDevice = await caller.Connection.InvokeAsync<long>("Chat", callId, Ciphertext);
        var chatToCaller = await device.Connection.InvokeAsync<long>("Chat", callId, Ciphertext + "2");
        await caller.Connection.InvokeAsync("Typing", callId, true);
        await device.Connection.InvokeAsync("Typing", callId, false);
        var chat = await deviceTwin.WaitForAsync("Chat", e => e.GetProperty("seq").GetInt64() == chatToDevice);
        Assert.Equal(Ciphertext, chat.GetProperty("ciphertext").GetString());
        Assert.EndsWith("Z", chat.GetProperty("at").GetString());
        await callerTwin.WaitForAsync("Chat", e => e.GetProperty("seq").GetInt64() == chatToCaller);
        await callerTwin.WaitForAsync("Typing");
        await deviceTwin.WaitForAsync("Typing");

        // Resume answers both protocols with the same array; stored data is JSON for REST as well.
        foreach (var (main, twin) in new[] { (caller, callerTwin), (device, deviceTwin) })
        {
            var resumed = await main.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
            var resumedTwin = await twin.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
            Assert.Equal(Render(resumed), Render(resumedTwin));
            Assert.Contains(resumed.EnumerateArray(), e => e.GetProperty("type").GetString() == "chat");
        }
        var callerMailbox = await (await host.Client(bearer: callToken).GetAsync($"/api/v1/calls/{callId}/events?after=0")).ReadJsonAsync();
        Assert.True(JsonElement.DeepEquals(answer, callerMailbox.EnumerateArray().Single(e => e.GetProperty("seq").GetInt64() == answerSeq).GetProperty("data")));
        var deviceMailbox = await (await alice.GetAsync($"/api/v1/calls/{callId}/events?after=0&deviceId=phone")).ReadJsonAsync();
        Assert.True(JsonElement.DeepEquals(offer, deviceMailbox.EnumerateArray().Single(e => e.GetProperty("seq").GetInt64() == 1).GetProperty("data")));

        // Acknowledge, hang up; then every connection saw the same events as its twin, rendered alike.
        await caller.Connection.InvokeAsync("Ack", callId, iceSeq);
        var afterAck = await callerTwin.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.DoesNotContain(afterAck.EnumerateArray(), e => e.GetProperty("seq").GetInt64() is var seq && (seq == answerSeq || seq == iceSeq));
        await caller.Connection.InvokeAsync("Hangup", callId);
        foreach (var r in new[] { caller, callerTwin, device, deviceTwin })
        {
            Assert.Equal("hangup", (await r.WaitForAsync("CallEnded")).GetProperty("reason").GetString());
        }
        Assert.Equal(Render(caller), Render(callerTwin));
        Assert.Equal(Render(device), Render(deviceTwin));
        Assert.Equal(["CallAccepted", "CallEnded", "Chat", "IncomingCall", "Signal", "Typing"], device.Events.Select(e => e.Name).Distinct().Order(StringComparer.Ordinal));
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("failed unexpectedly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EventShapes_OverMessagePack_AreMapsWithTheJsonKeysAndIsoTimes()
    {
        var at = new DateTimeOffset(2030, 1, 2, 3, 4, 5, 678, TimeSpan.FromHours(2));
        var events = new ServerEvent[]
        {
            new IncomingCallEvent { CallId = "call_1", CalleeId = "ce", CallerId = "cr", Label = "Tür", Media = "video", ExpiresAt = at },
            new SignalEvent { CallId = "call_1", Seq = 7, From = "cr", Type = "offer", Data = RichData("v=0") },
            new ChatEvent { CallId = "call_1", Seq = 8, From = "ce", Ciphertext = Ciphertext, At = at },
            new TypingEvent { CallId = "call_1", From = "ce", IsTyping = true },
            new CallEndedEvent { CallId = "call_1", Reason = "hangup" },
        };
        var decoded = new List<JsonNode>();
        foreach (var e in events)
        {
            var writer = new ArrayBufferWriter<byte>();
            var msgpack = new MessagePackWriter(writer);
            WireEventMessagePackFormatter.Instance.Serialize(ref msgpack, QrCallingJson.EventArgument(e), MessagePackSerializerOptions.Standard);
            msgpack.Flush();
            var node = TestMessagePack.ToNode(MessagePackSerializer.Deserialize<object>(writer.WrittenMemory, TestMessagePack.Options))!;
            Assert.Equal(JsonNode.Parse(JsonSerializer.Serialize(QrCallingJson.EventArgument(e)))!.ToJsonString(), node.ToJsonString());
            decoded.Add(node);
        }
        Assert.Equal("2030-01-02T01:04:05.678Z", (string?)decoded[2]["at"]);
        Assert.Equal("2030-01-02T01:04:05.678Z", (string?)decoded[0]["expiresAt"]);
        Assert.Equal(7, (long?)decoded[1]["seq"]);
        Assert.Null(decoded[1]["name"]);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-9223372036854775808")]
    [InlineData("18446744073709551615")]
    [InlineData("0.1")]
    [InlineData("-1.5e-300")]
    [InlineData("\"\"")]
    [InlineData("\"\\u0000 é 😀 \\\" \\\\ </script>\"")]
    [InlineData("""{"a":{"b":[1,{"c":null}]},"":true,"a b":false}""")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("null")]
    [InlineData("""{"type":"offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n"}""")]
    [InlineData("""{"k\u0001\"\\\ty":["\u001f\b\f\n","/\u00e9\ud83d\ude00",-0.0,1E2,12345678901234567890]}""")]
    [InlineData("""[[[[]]],{"a":[{}],"b":{"c":{}}},[1,[2,[3]]]]""")]
    public void JsonElementFormatter_RoundTripsJsonValues(string json)
    {
        var value = JsonDocument.Parse(json).RootElement;
        var bytes = MessagePackSerializer.Serialize(value, TestMessagePack.ServerOptions);
        Assert.True(JsonElement.DeepEquals(value, MessagePackSerializer.Deserialize<JsonElement>(bytes, TestMessagePack.ServerOptions)));
        // The MessagePack is what MessagePack's own object formatter reads as that JSON value.
        Assert.True(JsonElement.DeepEquals(value, JsonSerializer.SerializeToElement(TestMessagePack.ToNode(MessagePackSerializer.Deserialize<object>(bytes, TestMessagePack.Options)))));
    }

    /// <summary>Any string (control characters, quotes, reverse solidus, non-ASCII, surrogate pairs), as a value and as
    /// a key, goes from MessagePack to the stored JSON and back unchanged, and the stored JSON escapes only what JSON
    /// requires.</summary>
    [Property(MaxTest = 300)]
    public void JsonElementFormatter_RoundTripsAnyString(NonNull<string> generated, bool asKey)
    {
        var text = generated.Get;
        if (!System.Text.Unicode.Utf8.IsValid(System.Text.Encoding.UTF8.GetBytes(text)) || text.Any(char.IsSurrogate) && !IsWellFormed(text))
        {
            return; // a lone surrogate has no UTF-8 form: MessagePack cannot carry it as a string
        }
        object value = asKey ? new Dictionary<string, object> { [text] = text } : new object[] { text, "v=0\r\n" + text };
        var bytes = MessagePackSerializer.Serialize(value, TestMessagePack.Options);
        var stored = MessagePackSerializer.Deserialize<JsonElement>(bytes, TestMessagePack.ServerOptions);
        var raw = stored.GetRawText();
        Assert.DoesNotContain(raw, c => c < 0x20);
        var expected = JsonSerializer.SerializeToElement(value);
        Assert.True(JsonElement.DeepEquals(expected, stored), raw);
        var back = MessagePackSerializer.Serialize(stored, TestMessagePack.ServerOptions);
        Assert.Equal(bytes, back);
    }

    private static bool IsWellFormed(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return false;
            }
        }
        return true;
    }

    [Fact]
    public void JsonElementFormatter_JsonDeeperThanTheServersJson_IsRefusedWithItsOwnMessage()
    {
        var limit = QrCallingJson.Options.MaxDepth;
        var deep = JsonDocument.Parse(new string('[', limit + 6) + new string(']', limit + 6), new JsonDocumentOptions { MaxDepth = limit + 10 }).RootElement;
        var failure = Assert.Throws<InvalidOperationException>(() =>
        {
            var writer = new MessagePackWriter(new ArrayBufferWriter<byte>());
            MessagePackJson.Write(ref writer, deep);
        });
        Assert.Contains($"more than {limit} levels", failure.Message, StringComparison.Ordinal);
        var shallow = JsonDocument.Parse(new string('[', limit) + new string(']', limit), new JsonDocumentOptions { MaxDepth = limit + 10 }).RootElement;
        var bytes = MessagePackSerializer.Serialize(shallow, TestMessagePack.ServerOptions);
        Assert.Equal(shallow.GetRawText(), JsonSerializer.Serialize(TestMessagePack.ToNode(MessagePackSerializer.Deserialize<object>(bytes, TestMessagePack.Options.WithSecurity(MessagePackSecurity.UntrustedData.WithMaximumObjectGraphDepth(limit + 10))))));
    }

    [Fact]
    public void JsonElementFormatter_NumbersPastFloat64_BecomeInfinityAsInJavaScript()
    {
        var bytes = MessagePackSerializer.Serialize(JsonDocument.Parse("[1e400,-1e400]").RootElement, TestMessagePack.ServerOptions);
        Assert.Equal(new object[] { double.PositiveInfinity, double.NegativeInfinity }, MessagePackSerializer.Deserialize<object[]>(bytes, TestMessagePack.Options));
    }

    [Fact]
    public void JsonElementFormatter_Float32_IsWrittenAsItsShortestDecimal()
    {
        var value = MessagePackSerializer.Deserialize<JsonElement>(MessagePackSerializer.Serialize(0.1f, TestMessagePack.Options), TestMessagePack.ServerOptions);
        Assert.Equal("0.1", value.GetRawText());
    }

    [Fact]
    public async Task NotEnabled_MessagePackClientIsRefusedAtTheHandshake_EvenWhenTheHostRegisteredTheProtocol()
    {
        await using var plain = await TestHost.StartAsync();
        await using var hostOwnMessagePack = await TestHost.StartAsync(configure: b => b.Services.AddSignalR().AddMessagePackProtocol());
        foreach (var host in new[] { plain, hostOwnMessagePack })
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => ConnectAsync(host, messagePack: true, owner: "alice"));
            Assert.Contains("The protocol 'messagepack' is not supported.", refused.Message);
            var json = await ConnectAsync(host, messagePack: false, owner: "alice");
            Assert.Equal(HubConnectionState.Connected, json.Connection.State);
        }
    }

    [Fact]
    public async Task EnabledByConfiguration_WithTheHostsOwnProtocolRegistration_Works()
    {
        await using var host = await TestHost.StartAsync(configure: b =>
        {
            b.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["QrCalling:EnableMessagePack"] = "true" });
            b.Services.AddQrCalling(b.Configuration);
            b.Services.AddSignalR().AddMessagePackProtocol();
        });
        var device = await ConnectAsync(host, messagePack: true, owner: "alice", deviceId: "phone");
        await host.Client().StartCallAsync((await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!);
        Assert.Equal("video", (await device.WaitForAsync("IncomingCall")).GetProperty("media").GetString());
    }

    [Fact]
    public async Task EnabledWithoutTheProtocol_FailsAtStartUpNamingTheFix()
    {
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartAsync(hosting: h => h.EnableMessagePack = true));
        Assert.Contains("AddMessagePackProtocol()", failure.Message);
    }

    public static TheoryData<string, byte[]> DataWithoutJsonForm => new()
    {
        { "arrays one level past the limit", Nested(MessagePackJson.MaxDataDepth + 1, 0x91) },
        { "maps one level past the limit", NestedMaps(MessagePackJson.MaxDataDepth + 1) },
        { "100,000 nested arrays", Nested(100_000, 0x91) },
        { "binary", [0xc4, 0x02, 0x01, 0x02] },
        { "binary inside a map", [0x81, 0xa1, (byte)'a', 0xc4, 0x01, 0x00] },
        { "extension type", [0xd4, 0x05, 0x01] },
        { "timestamp", [0xd6, 0xff, 0x00, 0x00, 0x00, 0x01] },
        { "integer key", [0x81, 0x01, 0xa1, (byte)'x'] },
        { "nil key", [0x81, 0xc0, 0x01] },
        { "array key", [0x81, 0x90, 0x01] },
        { "NaN", [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0] },
        { "float32 infinity", [0xca, 0x7f, 0x80, 0x00, 0x00] },
        { "string that is not UTF-8", [0xa2, 0xc3, 0x28] },
        { "key that is not UTF-8", [0x81, 0xa1, 0xff, 0x01] },
    };

    [Theory]
    [MemberData(nameof(DataWithoutJsonForm))]
    public async Task Signal_DataWithoutJsonForm_IsInvalidRequestAndTheConnectionStays(string what, byte[] data)
    {
        await using var host = await StartAsync();
        var (callId, caller, _) = await RingingCallAsync(host);

        var refused = await Assert.ThrowsAsync<HubException>(() => caller.Connection.InvokeAsync<long>("Signal", callId, "offer", new RawMessagePack(data)));
        Assert.True(HubErrors.CodeOf(refused.Message) == "invalid_request", what + ": " + refused.Message);
        Assert.Contains($"at most {MessagePackJson.MaxDataDepth} levels deep", refused.Message);
        Assert.Equal(HubConnectionState.Connected, caller.Connection.State);
        Assert.Equal(1, await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", RichData("v=0")));
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("failed unexpectedly", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Signal_DataAtTheDepthLimit_ReachesJsonClientsRestAndResume()
    {
        await using var host = await StartAsync();
        var (callId, caller, device) = await RingingCallAsync(host);
        var deepest = Nested(MessagePackJson.MaxDataDepth, 0x81, 0xa1, (byte)'k'); // {"k":{"k":…{"k":nil}}}

        var seq = await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", new RawMessagePack(deepest));
        await device.Connection.InvokeAsync("Accept", callId);

        var expected = JsonNode.Parse(string.Concat(Enumerable.Repeat("{\"k\":", MessagePackJson.MaxDataDepth)) + "null" + new string('}', MessagePackJson.MaxDataDepth))!;
        var relayed = await device.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == seq);
        Assert.Equal(expected.ToJsonString(), JsonNode.Parse(relayed.GetProperty("data").GetRawText())!.ToJsonString());
        var resumed = await device.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.Equal(expected.ToJsonString(), JsonNode.Parse(resumed.EnumerateArray().Single(e => e.GetProperty("seq").GetInt64() == seq).GetProperty("data").GetRawText())!.ToJsonString());
        var rest = await host.Client(owner: "alice").GetAsync($"/api/v1/calls/{callId}/events?after=0&deviceId=phone");
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(HubConnectionState.Connected, device.Connection.State);
    }

    [Fact]
    public async Task Signal_FromMessagePack_ReachesMessagePackClientsAsTheBytesSent_JsonClientsAndResumeAsTheSameValue()
    {
        await using var host = await StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await ConnectAsync(host, messagePack: false, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload);
        var callId = started.GetProperty("callId").GetString()!;
        var callToken = started.GetProperty("callToken").GetString()!;
        var caller = await ConnectAsync(host, messagePack: true, callToken: callToken);
        var deviceRaw = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone", protocol: TestMessagePack.UseRaw);
        await device.Connection.InvokeAsync("Accept", callId);
        await caller.WaitForAsync("CallAccepted");

        // {"sdp":"v=0\r\n","n":1.5,"i":5} in encodings the server's JSON-to-MessagePack conversion never writes (a map16
        // header, a float32, an int16): only the sender's own bytes carry them.
        byte[] data = [0xde, 0x00, 0x03, 0xa3, (byte)'s', (byte)'d', (byte)'p', 0xa5, (byte)'v', (byte)'=', (byte)'0', (byte)'\r', (byte)'\n',
            0xa1, (byte)'n', 0xca, 0x3f, 0xc0, 0x00, 0x00, 0xa1, (byte)'i', 0xd1, 0x00, 0x05];
        const string Value = """{"sdp":"v=0\r\n","n":1.5,"i":5}""";
        var seq = await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", new RawMessagePack(data));

        var relayed = await deviceRaw.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == seq);
        Assert.True(Convert.FromBase64String(relayed.GetProperty("_raw").GetString()!).AsSpan().IndexOf(data) >= 0, "the sender's bytes are relayed as sent");
        Assert.Equal(Value, Render(relayed.GetProperty("data")));
        Assert.Equal(["seq", "from", "type", "data", "callId", "_raw"], relayed.EnumerateObject().Select(p => p.Name));
        var overJson = await device.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == seq);
        Assert.Equal(Value, Render(overJson.GetProperty("data")));

        // From the store the same value, converted from its JSON; the next signal, from a JSON sender, likewise.
        var resumed = await deviceRaw.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L);
        Assert.Equal(Value, Render(resumed.EnumerateArray().Single(e => e.GetProperty("seq").GetInt64() == seq).GetProperty("data")));
        var callerRaw = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: callToken, protocol: TestMessagePack.UseRaw);
        var answerSeq = await device.Connection.InvokeAsync<long>("Signal", callId, "answer", JsonDocument.Parse("""{"n":1.5,"i":5}""").RootElement);
        var answer = await callerRaw.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == answerSeq);
        Assert.Equal("""{"n":1.5,"i":5}""", Render(answer.GetProperty("data")));
        Assert.True(Convert.FromBase64String(answer.GetProperty("_raw").GetString()!).AsSpan().IndexOf((byte[])[0x82, 0xa1, (byte)'n', 0xcb]) >= 0, "converted from JSON");
    }

    /// <summary>A ringing call with a MessagePack caller and a JSON owner device <c>phone</c>.</summary>
    private static async Task<(string CallId, HubEventRecorder Caller, HubEventRecorder Device)> RingingCallAsync(TestHost host)
    {
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await ConnectAsync(host, messagePack: false, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload);
        await device.WaitForAsync("IncomingCall");
        var caller = await ConnectAsync(host, messagePack: true, callToken: started.GetProperty("callToken").GetString());
        return (started.GetProperty("callId").GetString()!, caller, device);
    }

    /// <summary><paramref name="levels"/> containers, each opened by <paramref name="open"/>, around a nil.</summary>
    private static byte[] Nested(int levels, params byte[] open) =>
        [.. Enumerable.Repeat(open, levels).SelectMany(b => b), 0xc0];

    private static byte[] NestedMaps(int levels) => Nested(levels, 0x81, 0xa1, (byte)'k');

    private static string Render(JsonElement value) => JsonNode.Parse(value.GetRawText())!.ToJsonString();

    private static string Render(HubEventRecorder recorder) =>
        string.Join('\n', recorder.Events.Select(e => e.Name + " " + JsonNode.Parse(e.Json)!.ToJsonString()));
}

/// <summary>A hub argument written as the given MessagePack bytes, to send values a JSON value cannot express.</summary>
internal sealed record RawMessagePack(byte[] Bytes);

/// <summary>The test clients' MessagePack settings. They read values with MessagePack's own object formatter (maps,
/// arrays, numbers, strings…) and turn those into JSON, independently of the server's converter.</summary>
internal static class TestMessagePack
{
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard.WithResolver(
        CompositeResolver.Create([new JsonViaObjectsFormatter(), new RawFormatter()], [ContractlessStandardResolver.Instance]));

    /// <summary>The server's formatters over MessagePack's standard resolver, for the converter's own tests.</summary>
    public static MessagePackSerializerOptions ServerOptions { get; } = MessagePackSerializerOptions.Standard.WithResolver(
        CompositeResolver.Create([JsonElementMessagePackFormatter.Instance], [StandardResolver.Instance]));

    public static void Use(IHubConnectionBuilder builder) => builder.AddMessagePackProtocol(o => o.SerializerOptions = Options);

    /// <summary>As <see cref="Use"/>, and every map received (an event) also carries its own MessagePack bytes, in
    /// base64, as <c>_raw</c>.</summary>
    public static void UseRaw(IHubConnectionBuilder builder) => builder.AddMessagePackProtocol(o => o.SerializerOptions = RawOptions);

    private static MessagePackSerializerOptions RawOptions { get; } = MessagePackSerializerOptions.Standard.WithResolver(
        CompositeResolver.Create([new RecordingRawFormatter(), new RawFormatter()], [ContractlessStandardResolver.Instance]));

    /// <summary>A value as MessagePack's object formatter reads it, as JSON; anything without a JSON form fails the test.</summary>
    public static JsonNode? ToNode(object? value) => value switch
    {
        null => null,
        bool b => JsonValue.Create(b),
        string s => JsonValue.Create(s),
        byte or sbyte or short or ushort or int or uint or long => JsonValue.Create(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)),
        ulong u => JsonValue.Create(u),
        float f => JsonValue.Create(f),
        double d => JsonValue.Create(d),
        object?[] items => new JsonArray([.. items.Select(ToNode)]),
        IDictionary<object, object?> map => new JsonObject(map.Select(kv => KeyValuePair.Create(
            kv.Key as string ?? throw new InvalidOperationException("A map key that is not a string: " + kv.Key), ToNode(kv.Value)))),
        _ => throw new InvalidOperationException("No JSON form: " + value.GetType()),
    };

    private static object? ToPlain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => value.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value)),
        JsonValueKind.Array => value.EnumerateArray().Select(ToPlain).ToArray(),
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number when value.TryGetInt64(out var l) => l,
        JsonValueKind.Number when value.TryGetUInt64(out var u) => u,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    private sealed class JsonViaObjectsFormatter : IMessagePackFormatter<JsonElement>
    {
        public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) =>
            PrimitiveObjectFormatter.Instance.Serialize(ref writer, ToPlain(value)!, options);

        public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            JsonSerializer.SerializeToElement(ToNode(PrimitiveObjectFormatter.Instance.Deserialize(ref reader, options)));
    }

    private sealed class RecordingRawFormatter : IMessagePackFormatter<JsonElement>
    {
        public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) =>
            PrimitiveObjectFormatter.Instance.Serialize(ref writer, ToPlain(value)!, options);

        public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
        {
            var raw = reader.ReadRaw().ToArray();
            var node = ToNode(MessagePackSerializer.Deserialize<object>(raw, options));
            if (node is JsonObject map)
            {
                map["_raw"] = Convert.ToBase64String(raw);
            }
            return JsonSerializer.SerializeToElement(node);
        }
    }

    private sealed class RawFormatter : IMessagePackFormatter<RawMessagePack>
    {
        public void Serialize(ref MessagePackWriter writer, RawMessagePack value, MessagePackSerializerOptions options) => writer.WriteRaw(value.Bytes);

        public RawMessagePack Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            throw new NotSupportedException("Raw values are only sent.");
    }
}
