using System.Buffers;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Http;
using QrCalling.Transport;

namespace QrCalling.Hosting.Hubs;

/// <summary>The hub's protocols: JSON always, SignalR's MessagePack protocol only with
/// <see cref="QrCallingHostingOptions.EnableMessagePack"/>. The host registers that protocol (its own choice, for all its
/// hubs); without the option the call hub refuses it even when registered, since only the option adds the formatters
/// that give MessagePack clients the JSON shapes.</summary>
internal sealed class CallHubProtocolSetup(IOptions<QrCallingHostingOptions> hosting, IEnumerable<IHubProtocol> protocols)
    : HubProtocolSetup<CallHub>(hosting, protocols);

/// <summary>The same protocol choice for the rooms hub (<c>/hubs/rooms</c>).</summary>
internal sealed class RoomHubProtocolSetup(IOptions<QrCallingHostingOptions> hosting, IEnumerable<IHubProtocol> protocols)
    : HubProtocolSetup<RoomHub>(hosting, protocols);

/// <summary>JSON always, MessagePack only with <see cref="QrCallingHostingOptions.EnableMessagePack"/>, for one hub.</summary>
internal abstract class HubProtocolSetup<THub>(IOptions<QrCallingHostingOptions> hosting, IEnumerable<IHubProtocol> protocols)
    : IPostConfigureOptions<HubOptions<THub>> where THub : Hub
{
    /// <summary>The name SignalR's MessagePack hub protocol is negotiated by.</summary>
    public const string ProtocolName = "messagepack";

    public void PostConfigure(string? name, HubOptions<THub> options)
    {
        var supported = options.SupportedProtocols ??= new List<string>();
        if (!hosting.Value.EnableMessagePack)
        {
            supported.Remove(ProtocolName);
            return;
        }
        if (!protocols.Any(p => p.Name == ProtocolName))
        {
            throw new InvalidOperationException("QrCalling:EnableMessagePack is set, but SignalR's MessagePack hub protocol is not registered: "
                + "call AddMessagePackProtocol() on the builder that AddQrCalling returns (or on services.AddSignalR()).");
        }
        if (!supported.Contains(ProtocolName))
        {
            supported.Add(ProtocolName);
        }
        options.AddFilter(new MessagePackDataFilter());
    }
}

/// <summary>With <see cref="QrCallingHostingOptions.EnableMessagePack"/>, puts QrCalling's formatters for
/// <see cref="JsonElement"/> and <see cref="WireEvent"/> ahead of the resolver the host configured (kept, with its
/// security settings, for every other type).</summary>
internal sealed class MessagePackFormatterSetup(IOptions<QrCallingHostingOptions> hosting) : IPostConfigureOptions<MessagePackHubProtocolOptions>
{
    public void PostConfigure(string? name, MessagePackHubProtocolOptions options)
    {
        if (hosting.Value.EnableMessagePack)
        {
            var serializer = options.SerializerOptions;
            options.SerializerOptions = serializer.WithResolver(CompositeResolver.Create(
                [JsonElementMessagePackFormatter.Instance, WireEventMessagePackFormatter.Instance], [serializer.Resolver]));
        }
    }
}

/// <summary>A JSON value as the equivalent MessagePack value (a hub argument such as Signal's <c>data</c>, or Resume's
/// result). Data with no JSON equivalent reads as an undefined element, which <see cref="MessagePackDataFilter"/>
/// answers <c>invalid_request</c>: a formatter's exception would only reach the client as an uncoded binding
/// failure.</summary>
internal sealed class JsonElementMessagePackFormatter : IMessagePackFormatter<JsonElement>
{
    public static JsonElementMessagePackFormatter Instance { get; } = new();

    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) =>
        MessagePackJson.Write(ref writer, value);

    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (!MessagePackJson.TryRead(ref reader, out var value, out var messagePack))
        {
            return default;
        }
        MessagePackPassThrough.Read(value, messagePack);
        return value;
    }
}

/// <summary>A server event as a MessagePack map: exactly the JSON that <see cref="WireEventConverter"/> writes
/// (camelCase keys, times as ISO-8601 strings, <c>data</c> as its MessagePack equivalent). A signal, the event a call
/// relays most, is written directly, its data as the sender's MessagePack bytes when it has them
/// (<see cref="MessagePackPassThrough"/>); the others by way of their JSON.</summary>
internal sealed class WireEventMessagePackFormatter : IMessagePackFormatter<WireEvent>
{
    public static WireEventMessagePackFormatter Instance { get; } = new();

    /// <summary>This thread's buffer for an event's JSON, reused (Serialize runs synchronously to its end).</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>A signal's keys as MessagePack strings, in the order <see cref="QrCallingJson.Options"/> writes them.</summary>
    private static readonly byte[][] SignalKeys = [.. new[] { "seq", "from", "type", "data", "callId" }.Select(k => MessagePackSerializer.Serialize(k, MessagePackSerializerOptions.Standard))];

    public void Serialize(ref MessagePackWriter writer, WireEvent value, MessagePackSerializerOptions options)
    {
        if (value.Event is SignalEvent signal)
        {
            WriteSignal(ref writer, signal, value.MessagePackData);
            return;
        }
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, Encoder = QrCallingJson.Options.Encoder }))
        {
            JsonSerializer.Serialize(json, value.Event, value.Event.GetType(), QrCallingJson.Options);
        }
        MessagePackJson.WriteJson(ref writer, buffer.WrittenSpan);
        if (buffer.Capacity > 256 * 1024)
        {
            t_buffer = null; // an unusually large event does not keep its buffer
        }
    }

    private static void WriteSignal(ref MessagePackWriter writer, SignalEvent signal, byte[]? messagePackData)
    {
        writer.WriteMapHeader(SignalKeys.Length);
        writer.WriteRaw(SignalKeys[0]);
        writer.Write(signal.Seq);
        writer.WriteRaw(SignalKeys[1]);
        writer.Write(signal.From);
        writer.WriteRaw(SignalKeys[2]);
        writer.Write(signal.Type);
        writer.WriteRaw(SignalKeys[3]);
        if (messagePackData is not null)
        {
            writer.WriteRaw(messagePackData);
        }
        else
        {
            MessagePackJson.Write(ref writer, signal.Data);
        }
        writer.WriteRaw(SignalKeys[4]);
        writer.Write(signal.CallId);
    }

    public WireEvent Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
        throw new NotSupportedException("Server events are only written.");
}

/// <summary>Answers a hub call whose data had no JSON equivalent (read by <see cref="JsonElementMessagePackFormatter"/>
/// as an undefined element, which no JSON client can send) with <c>invalid_request</c>, before the method runs.</summary>
internal sealed class MessagePackDataFilter : IHubFilter
{
    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        MessagePackPassThrough.Inbound? inbound = null;
        foreach (var argument in invocationContext.HubMethodArguments)
        {
            if (argument is JsonElement element)
            {
                if (element.ValueKind == JsonValueKind.Undefined)
                {
                    throw new HubException("invalid_request: data must be nil, a boolean, an integer, a finite float, a UTF-8 string, "
                        + $"or an array or map (string keys) of these, at most {MessagePackJson.MaxDataDepth} levels deep; binary and extension types have no JSON form.");
                }
                inbound ??= MessagePackPassThrough.Take(element);
            }
        }
        return inbound is null ? next(invocationContext) : MessagePackPassThrough.InvokeWithAsync(inbound, () => next(invocationContext));
    }
}
