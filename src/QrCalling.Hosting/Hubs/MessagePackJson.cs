using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
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

    /// <summary>The writer's options for map keys (string values go through <see cref="WriteString"/>, which keeps all
    /// non-ASCII text as UTF-8): non-ASCII text of the Basic Multilingual Plane is stored as UTF-8 rather than <c>\u</c>
    /// escapes, so data counts against the size limits about as it would from a browser's JSON client. The stored text
    /// is only ever parsed again, never embedded in HTML.</summary>
    private static readonly JsonWriterOptions StoreOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>This thread's buffer and writer for the JSON of a value read (reused: a read runs synchronously to its
    /// end, and the element gets its own copy of the text).</summary>
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_readBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_readWriter;

    /// <summary>Reads one MessagePack value (consuming all of it, however deeply nested) as JSON, and gives the value's
    /// own MessagePack bytes (a slice of the message). False when it has no JSON equivalent: binary or extension types,
    /// a map key that is not a string, a NaN or infinite float, a string that is not UTF-8, or more than
    /// <see cref="MaxDataDepth"/> levels.</summary>
    public static bool TryRead(ref MessagePackReader reader, out JsonElement value, out ReadOnlySequence<byte> messagePack)
    {
        var buffer = t_readBuffer ??= new ArrayBufferWriter<byte>(4096);
        buffer.ResetWrittenCount();
        var json = t_readWriter ??= new Utf8JsonWriter(buffer, StoreOptions);
        json.Reset(buffer);
        var copy = reader.CreatePeekReader();
        if (!TryCopy(ref copy, json, depth: 0))
        {
            Skip(ref reader);
            value = default;
            messagePack = default;
            return false;
        }
        json.Flush();
        messagePack = reader.ReadRaw(copy.Consumed - reader.Consumed);
        // Its own copy of the text, parsed once (ParseValue would skip over the value to measure it, copy it, then parse).
        // The document is never disposed: its metadata, rented from the shared pool, is left to the GC.
        value = JsonDocument.Parse(buffer.WrittenSpan.ToArray()).RootElement;
        if (buffer.Capacity > 256 * 1024)
        {
            t_readBuffer = null; // unusually large data does not keep its buffer
            t_readWriter = null;
        }
        return true;
    }

    /// <summary>Writes a JSON value as MessagePack. Integers become MessagePack integers, other numbers float64 (a
    /// number beyond the float64 range becomes an infinity, as in JavaScript's <c>JSON.parse</c>).</summary>
    /// <exception cref="InvalidOperationException">The value is undefined or nests deeper than the server's JSON.</exception>
    public static void Write(ref MessagePackWriter writer, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Undefined)
        {
            throw new InvalidOperationException("An undefined JSON value has no MessagePack form.");
        }
        WriteJson(ref writer, JsonMarshal.GetRawUtf8Value(value));
    }

    /// <summary>Writes one JSON value, given as its UTF-8 text, as MessagePack (strings copied as UTF-8, unescaped only
    /// when they hold escapes), with the rules of <c>Write</c>. The text is read once to write it, and each object or
    /// array once more to count its children for its header.</summary>
    public static void WriteJson(ref MessagePackWriter writer, ReadOnlySpan<byte> json)
    {
        // The reader may go deeper than MaxWriteDepth (counting a container's children skips over its whole subtree), so
        // that CheckWriteDepth, not the reader, refuses a value nested too deeply.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        if (!reader.Read())
        {
            throw new InvalidOperationException("An empty JSON text has no MessagePack form.");
        }
        do
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    CheckWriteDepth(reader.CurrentDepth);
                    writer.WriteMapHeader(CountChildren(reader));
                    break;
                case JsonTokenType.StartArray:
                    CheckWriteDepth(reader.CurrentDepth);
                    writer.WriteArrayHeader(CountChildren(reader));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    break;
                case JsonTokenType.PropertyName or JsonTokenType.String:
                    WriteUnescaped(ref writer, ref reader);
                    break;
                case JsonTokenType.Number when reader.TryGetInt64(out var integer):
                    writer.Write(integer);
                    break;
                case JsonTokenType.Number when reader.TryGetUInt64(out var unsigned):
                    writer.Write(unsigned);
                    break;
                case JsonTokenType.Number:
                    writer.Write(reader.TryGetDouble(out var number) ? number
                        : double.Parse(Encoding.UTF8.GetString(reader.ValueSpan), NumberStyles.Float, CultureInfo.InvariantCulture));
                    break;
                case JsonTokenType.True:
                    writer.Write(true);
                    break;
                case JsonTokenType.False:
                    writer.Write(false);
                    break;
                case JsonTokenType.Null:
                    writer.WriteNil();
                    break;
            }
        }
        // Done after the root's own token: a scalar, or the end of the root object or array (depth 0 as well).
        while (!(reader.CurrentDepth == 0 && reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray)) && reader.Read());
    }

    /// <summary>The members of the object or items of the array that starts at <paramref name="reader"/>'s token
    /// (a copy of the reader skips over them).</summary>
    private static int CountChildren(Utf8JsonReader reader)
    {
        var depth = reader.CurrentDepth;
        var count = 0;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            count++;
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                reader.Read(); // the member's value
            }
            reader.Skip(); // a nested object or array to its end; a no-op for anything else
        }
        return count;
    }

    /// <summary>This thread's buffer for unescaping strings (a write runs synchronously to its end).</summary>
    [ThreadStatic]
    private static byte[]? t_unescaped;

    /// <summary>Writes a string token's UTF-8 bytes: the text itself, or unescaped into this thread's buffer when it holds
    /// escapes (an SDP's CR LF).</summary>
    private static void WriteUnescaped(ref MessagePackWriter writer, ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            writer.WriteString(reader.ValueSpan);
            return;
        }
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var scratch = t_unescaped;
        if (scratch is null || scratch.Length < length)
        {
            scratch = new byte[Math.Max(length, 4096)];
            if (scratch.Length <= 256 * 1024)
            {
                t_unescaped = scratch; // an unusually long string does not keep its buffer
            }
        }
        writer.WriteString(scratch.AsSpan(0, reader.CopyString(scratch)));
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
                WriteString(json, text.Span);
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

    /// <summary>The bytes a JSON string must escape: quotation mark, reverse solidus and the control characters.</summary>
    private static readonly SearchValues<byte> MustEscape = SearchValues.Create([.. Enumerable.Range(0, 0x20).Select(b => (byte)b), (byte)'"', (byte)'\\']);

    /// <summary>Writes valid UTF-8 as a JSON string escaping only what JSON requires (quotation mark, reverse solidus,
    /// control characters; everything else as UTF-8, as a browser's <c>JSON.stringify</c> does). An SDP is full of
    /// CR LF, and the writer's own escaping takes its slow path, a character at a time, for every string with any.</summary>
    private static void WriteString(Utf8JsonWriter json, ReadOnlySpan<byte> utf8)
    {
        var first = utf8.IndexOfAny(MustEscape);
        var rented = ArrayPool<byte>.Shared.Rent(first < 0 ? utf8.Length + 2 : utf8.Length * 6 + 2);
        try
        {
            var length = 0;
            rented[length++] = (byte)'"';
            var rest = utf8;
            for (var next = first; next >= 0; next = rest.IndexOfAny(MustEscape))
            {
                rest[..next].CopyTo(rented.AsSpan(length));
                length += next;
                var b = rest[next];
                rented[length++] = (byte)'\\';
                var escape = b switch { (byte)'"' => (byte)'"', (byte)'\\' => (byte)'\\', (byte)'\n' => (byte)'n', (byte)'\r' => (byte)'r', (byte)'\t' => (byte)'t', (byte)'\b' => (byte)'b', (byte)'\f' => (byte)'f', _ => (byte)'u' };
                rented[length++] = escape;
                if (escape == (byte)'u')
                {
                    rented[length++] = (byte)'0';
                    rented[length++] = (byte)'0';
                    rented[length++] = HexDigit(b >> 4);
                    rented[length++] = HexDigit(b & 0xF);
                }
                rest = rest[(next + 1)..];
            }
            rest.CopyTo(rented.AsSpan(length));
            length += rest.Length;
            rented[length++] = (byte)'"';
            json.WriteRawValue(rented.AsSpan(0, length), skipInputValidation: true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static byte HexDigit(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);

    private static bool TryReadUtf8(ref MessagePackReader reader, out ReadOnlyMemory<byte> utf8)
    {
        var sequence = reader.ReadStringSequence().GetValueOrDefault();
        utf8 = sequence.IsSingleSegment ? sequence.First : sequence.ToArray();
        return Utf8.IsValid(utf8.Span);
    }
}
