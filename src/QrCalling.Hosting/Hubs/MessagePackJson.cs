using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using MessagePack;
using QrCalling.Hosting.Http;

namespace QrCalling.Hosting.Hubs;

/// <summary>Converts JSON values to the equivalent MessagePack values and back: object and map (string keys), array,
/// string, number, true/false and null/nil. MessagePack clients of the hub thus see the same shapes as JSON clients, and
/// what they send is kept and relayed as JSON.</summary>
internal static class MessagePackJson
{
    /// <summary>How deeply incoming data may nest arrays and maps (a scalar is 0 levels, <c>[]</c> one). A JSON hub
    /// client gets data three levels down (the message, its arguments, the event; for Resume the message, the result
    /// array, the event), and JSON readers (System.Text.Json's default, so the .NET SignalR client) stop at
    /// <see cref="QrCallingJson.Options"/>' MaxDepth of 64: whatever a MessagePack client sends reaches every client.</summary>
    public static int MaxDataDepth { get; } = QrCallingJson.Options.MaxDepth - 3;

    /// <summary>How deeply a JSON value written as MessagePack may nest: the MaxDepth of the JSON the server writes.</summary>
    private static int MaxWriteDepth { get; } = QrCallingJson.Options.MaxDepth;

    /// <summary>Non-ASCII text (of the Basic Multilingual Plane) is stored as UTF-8 rather than <c>\u</c> escapes, so
    /// data counts against the size limits about as it would from a browser's JSON client. The stored text is only ever
    /// parsed again, never embedded in HTML.</summary>
    private static readonly JsonWriterOptions StoreOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads one MessagePack value (consuming all of it, however deeply nested) as JSON. False when it has
    /// no JSON equivalent: binary or extension types, a map key that is not a string, a NaN or infinite float, a string
    /// that is not UTF-8, or more than <see cref="MaxDataDepth"/> levels.</summary>
    public static bool TryRead(ref MessagePackReader reader, out JsonElement value)
    {
        var copy = reader.CreatePeekReader();
        Skip(ref reader);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, StoreOptions))
        {
            if (!TryCopy(ref copy, json, depth: 0))
            {
                value = default;
                return false;
            }
        }
        var jsonReader = new Utf8JsonReader(buffer.WrittenSpan);
        value = JsonElement.ParseValue(ref jsonReader);
        return true;
    }

    /// <summary>Writes a JSON value as MessagePack. Integers become MessagePack integers, other numbers float64 (a
    /// number beyond the float64 range becomes an infinity, as in JavaScript's <c>JSON.parse</c>).</summary>
    /// <exception cref="InvalidOperationException">The value is undefined or nests deeper than the server's JSON.</exception>
    public static void Write(ref MessagePackWriter writer, JsonElement value) => Write(ref writer, value, depth: 0);

    private static void Write(ref MessagePackWriter writer, JsonElement value, int depth)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                CheckWriteDepth(depth);
                writer.WriteMapHeader(value.GetPropertyCount());
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value, depth + 1);
                }
                break;
            case JsonValueKind.Array:
                CheckWriteDepth(depth);
                writer.WriteArrayHeader(value.GetArrayLength());
                foreach (var item in value.EnumerateArray())
                {
                    Write(ref writer, item, depth + 1);
                }
                break;
            case JsonValueKind.String:
                writer.Write(value.GetString());
                break;
            case JsonValueKind.Number when value.TryGetInt64(out var integer):
                writer.Write(integer);
                break;
            case JsonValueKind.Number when value.TryGetUInt64(out var unsigned):
                writer.Write(unsigned);
                break;
            case JsonValueKind.Number:
                writer.Write(value.TryGetDouble(out var number) ? number : double.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            case JsonValueKind.Null:
                writer.WriteNil();
                break;
            default:
                throw new InvalidOperationException("An undefined JSON value has no MessagePack form.");
        }
    }

    private static void CheckWriteDepth(int depth)
    {
        if (depth >= MaxWriteDepth)
        {
            throw new InvalidOperationException($"JSON nested more than {MaxWriteDepth} levels is not written as MessagePack.");
        }
    }

    /// <summary>Skips one value without recursion, so no nesting depth can exhaust the stack. Array and map headers
    /// are checked against the bytes left, so the count of pending values stays bounded by the message size.</summary>
    private static void Skip(ref MessagePackReader reader)
    {
        for (long pending = 1; pending > 0; pending--)
        {
            switch (reader.NextMessagePackType)
            {
                case MessagePackType.Array:
                    pending += reader.ReadArrayHeader();
                    break;
                case MessagePackType.Map:
                    pending += 2L * reader.ReadMapHeader();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
    }

    private static bool TryCopy(ref MessagePackReader reader, Utf8JsonWriter json, int depth)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                return true;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                return true;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                json.WriteNumberValue(reader.ReadUInt64());
                return true;
            case MessagePackType.Integer:
                json.WriteNumberValue(reader.ReadInt64());
                return true;
            case MessagePackType.Float when reader.NextCode == MessagePackCode.Float32:
                var single = reader.ReadSingle();
                if (!float.IsFinite(single))
                {
                    return false;
                }
                json.WriteNumberValue(single);
                return true;
            case MessagePackType.Float:
                var number = reader.ReadDouble();
                if (!double.IsFinite(number))
                {
                    return false;
                }
                json.WriteNumberValue(number);
                return true;
            case MessagePackType.String:
                if (!TryReadUtf8(ref reader, out var text))
                {
                    return false;
                }
                json.WriteStringValue(text.Span);
                return true;
            case MessagePackType.Array when depth < MaxDataDepth:
                var length = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (var i = 0; i < length; i++)
                {
                    if (!TryCopy(ref reader, json, depth + 1))
                    {
                        return false;
                    }
                }
                json.WriteEndArray();
                return true;
            case MessagePackType.Map when depth < MaxDataDepth:
                var count = reader.ReadMapHeader();
                json.WriteStartObject();
                for (var i = 0; i < count; i++)
                {
                    if (reader.NextMessagePackType != MessagePackType.String || !TryReadUtf8(ref reader, out var name))
                    {
                        return false;
                    }
                    json.WritePropertyName(name.Span);
                    if (!TryCopy(ref reader, json, depth + 1))
                    {
                        return false;
                    }
                }
                json.WriteEndObject();
                return true;
            default:
                // Binary, extension types (timestamps included), or an array or map past MaxDataDepth.
                return false;
        }
    }

    private static bool TryReadUtf8(ref MessagePackReader reader, out ReadOnlyMemory<byte> utf8)
    {
        var sequence = reader.ReadStringSequence().GetValueOrDefault();
        utf8 = sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
        return Utf8.IsValid(utf8.Span);
    }
}
