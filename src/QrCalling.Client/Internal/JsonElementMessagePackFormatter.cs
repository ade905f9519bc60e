using System.Buffers;
using System.Globalization;
using System.Text.Json;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;

namespace QrCalling.Client.Internal;

/// <summary>Reads and writes <see cref="JsonElement"/> as the equivalent MessagePack value, so the client handles events,
/// Resume results and signal data the same way over JSON and MessagePack (the host sends JSON shapes over MessagePack:
/// maps with string keys, ISO-8601 strings for times).</summary>
internal sealed class JsonElementMessagePackFormatter : IMessagePackFormatter<JsonElement>
{
    public static readonly JsonElementMessagePackFormatter Instance = new();

    /// <summary>MessagePack's standard resolver, with this formatter for <see cref="JsonElement"/>.</summary>
    public static MessagePackSerializerOptions Options { get; } = MessagePackSerializerOptions.Standard.WithResolver(
        CompositeResolver.Create([Instance], [StandardResolver.Instance]));

    private const int MaxDepth = 64;

    public void Serialize(ref MessagePackWriter writer, JsonElement value, MessagePackSerializerOptions options) => Write(ref writer, value, 0);

    public JsonElement Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            Copy(ref reader, json, 0);
        }
        var jsonReader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref jsonReader);
    }

    private static void Write(ref MessagePackWriter writer, JsonElement value, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new MessagePackSerializationException($"JSON nested more than {MaxDepth} levels.");
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteMapHeader(value.GetPropertyCount());
                foreach (var property in value.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value, depth + 1);
                }
                break;
            case JsonValueKind.Array:
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
                writer.Write(double.Parse(value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture));
                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    private static void Copy(ref MessagePackReader reader, Utf8JsonWriter json, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new MessagePackSerializationException($"MessagePack nested more than {MaxDepth} levels.");
        }
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                json.WriteNumberValue(reader.ReadUInt64());
                break;
            case MessagePackType.Integer:
                json.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                var number = reader.ReadDouble();
                if (double.IsFinite(number))
                {
                    json.WriteNumberValue(number);
                }
                else
                {
                    json.WriteNullValue(); // JSON has no infinity; the host never sends one for data a JSON client could send
                }
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Array:
                var length = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (var i = 0; i < length; i++)
                {
                    Copy(ref reader, json, depth + 1);
                }
                json.WriteEndArray();
                break;
            case MessagePackType.Map:
                var count = reader.ReadMapHeader();
                json.WriteStartObject();
                for (var i = 0; i < count; i++)
                {
                    json.WritePropertyName(reader.ReadString() ?? "");
                    Copy(ref reader, json, depth + 1);
                }
                json.WriteEndObject();
                break;
            default:
                throw new MessagePackSerializationException("A MessagePack value with no JSON form (binary or an extension type).");
        }
    }
}
