using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using QrCalling.Transport;

namespace QrCalling.Hosting.Http;

/// <summary>The JSON settings of every QrCalling response and hub event: camelCase, times as ISO-8601 UTC with a
/// <c>Z</c>, and the derived type's properties of a <see cref="ServerEvent"/> (without its <c>Name</c>).</summary>
internal static class QrCallingJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { DropEventName } },
            MaxDepth = 64,
        };
        options.Converters.Add(new UtcDateTimeOffsetConverter());
        options.Converters.Add(new RawJsonElementConverter());
        options.MakeReadOnly();
        return options;
    }

    private static void DropEventName(JsonTypeInfo info)
    {
        if (info.Kind == JsonTypeInfoKind.Object && typeof(ServerEvent).IsAssignableFrom(info.Type))
        {
            for (var i = info.Properties.Count - 1; i >= 0; i--)
            {
                if (info.Properties[i].Name == "name")
                {
                    info.Properties.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>A server event as the one argument of its hub message: written with its runtime type and these options
    /// straight into the hub protocol's output, whatever JSON options the host gave SignalR (no intermediate document).</summary>
    /// <remarks>A signal whose data is the MessagePack argument of the hub call running now carries those bytes along for
    /// MessagePack recipients (<see cref="Hubs.MessagePackPassThrough"/>).</remarks>
    public static WireEvent EventArgument(ServerEvent serverEvent) => new(serverEvent, Hubs.MessagePackPassThrough.For(serverEvent));

    /// <summary>A JSON value (a signal's <c>data</c>) written as its own UTF-8 text. It was parsed from JSON (a client's,
    /// a MessagePack client's converted, or the store's), so it is valid as it stands and goes out as the sender wrote
    /// it. The writer's default would unescape and escape every string again: an SDP is full of CR LF, which it escapes
    /// a character at a time, and that cost more than the rest of the event.</summary>
    private sealed class RawJsonElementConverter : JsonConverter<JsonElement>
    {
        public override JsonElement Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            JsonElement.ParseValue(ref reader);

        public override void Write(Utf8JsonWriter writer, JsonElement value, JsonSerializerOptions options) =>
            writer.WriteRawValue(JsonMarshal.GetRawUtf8Value(value), skipInputValidation: true);
    }

    private sealed class UtcDateTimeOffsetConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
    }
}

/// <summary>A hub event argument that serializes itself with <see cref="QrCallingJson.Options"/> (over MessagePack,
/// <see cref="Hubs.WireEventMessagePackFormatter"/> writes the same shape).</summary>
/// <param name="Event">The event.</param>
/// <param name="MessagePackData">For a signal, its data as the sender's MessagePack bytes, when it has them.</param>
[JsonConverter(typeof(WireEventConverter))]
internal readonly record struct WireEvent(ServerEvent Event, byte[]? MessagePackData = null);

internal sealed class WireEventConverter : JsonConverter<WireEvent>
{
    public override WireEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("Server events are only written.");

    public override void Write(Utf8JsonWriter writer, WireEvent value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.Event, value.Event.GetType(), QrCallingJson.Options);
}
