using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using QrCalling.Transport;

namespace QrCalling.Hosting.Hubs;

/// <summary>Lets a MessagePack client's signal data reach MessagePack recipients as the bytes it sent, so a relayed
/// signal is converted to JSON once (for the store and JSON recipients) and never back.</summary>
/// <remarks>
/// <para>The data's JSON is what the call path works with, in a <see cref="JsonElement"/> it passes along unchanged into
/// the <see cref="SignalEvent"/> it delivers. So the bytes are matched to the event by that element's identity (the
/// memory of its text, which the kept element holds on to) in three steps:</para>
/// <list type="number">
/// <item><see cref="JsonElementMessagePackFormatter"/> reads a hub argument and records it with its MessagePack bytes
/// for this thread (<see cref="Read"/>).</item>
/// <item><see cref="MessagePackDataFilter"/>, around the method invocation that follows, takes the record whose element
/// is the invocation's argument and makes it current for that invocation's flow (<see cref="Take"/>,
/// <see cref="InvokeWithAsync"/>).</item>
/// <item>The transport, building the event's hub argument in that flow, attaches the bytes when the event's data is
/// that very element (<see cref="For"/>); the MessagePack formatter then writes them as they came.</item>
/// </list>
/// <para>Anything else (data from the store, from a JSON client, a record left over from another message) matches no
/// element and is converted from JSON as before.</para>
/// </remarks>
internal static class MessagePackPassThrough
{
    /// <summary>The last argument this thread read, with its bytes.</summary>
    [ThreadStatic]
    private static Inbound? t_last;

    /// <summary>The invocation's argument, for its flow.</summary>
    private static readonly AsyncLocal<Inbound?> s_current = new();

    /// <summary>A hub argument read from MessagePack: its JSON and its own MessagePack bytes.</summary>
    internal sealed record Inbound(JsonElement Json, byte[] MessagePack);

    /// <summary>Records an argument just read, with the bytes it was read from.</summary>
    public static void Read(JsonElement json, ReadOnlySequence<byte> messagePack) => t_last = new(json, messagePack.ToArray());

    /// <summary>The record of <paramref name="argument"/> when it is the last argument this thread read; null otherwise.</summary>
    public static Inbound? Take(JsonElement argument)
    {
        var last = t_last;
        if (last is null || !Same(last.Json, argument))
        {
            return null;
        }
        t_last = null;
        return last;
    }

    /// <summary>Runs <paramref name="invoke"/> with <paramref name="inbound"/> current in its flow (and only there: an
    /// async method's changes to the execution context end with it).</summary>
    public static async ValueTask<object?> InvokeWithAsync(Inbound inbound, Func<ValueTask<object?>> invoke)
    {
        s_current.Value = inbound;
        return await invoke().ConfigureAwait(false);
    }

    /// <summary>The MessagePack bytes of a signal event's data when that data is the current invocation's argument as
    /// read; null for anything else.</summary>
    public static byte[]? For(ServerEvent serverEvent) =>
        serverEvent is SignalEvent signal && s_current.Value is { } current && Same(current.Json, signal.Data) ? current.MessagePack : null;

    /// <summary>Whether two elements are the same text in memory (the same value of the same document).</summary>
    private static bool Same(JsonElement a, JsonElement b)
    {
        if (a.ValueKind == JsonValueKind.Undefined || b.ValueKind == JsonValueKind.Undefined)
        {
            return false;
        }
        var x = JsonMarshal.GetRawUtf8Value(a);
        var y = JsonMarshal.GetRawUtf8Value(b);
        return x.Length == y.Length && Unsafe.AreSame(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y));
    }
}
