using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit;

namespace QrCalling.Testing;

/// <summary>Records every hub event a real SignalR client connection receives, as (name, raw JSON of its one argument),
/// so tests can wait for events and assert what a party did and did not receive.</summary>
public sealed class HubEventRecorder
{
    /// <summary>The server-to-client events of spec section 3, and the additive DeviceRevoked.</summary>
    public static readonly string[] EventNames =
        ["IncomingCall", "CallAccepted", "CallAnsweredElsewhere", "CallEnded", "Signal", "Typing", "Chat", "PeerLeft", "PeerJoined", "DeviceRevoked"];

    private readonly ConcurrentQueue<(string Name, string Json)> _events = new();

    /// <summary>Registers a handler for every event on the (not yet started) connection.</summary>
    public HubEventRecorder(HubConnection connection)
    {
        Connection = connection;
        foreach (var name in EventNames)
        {
            connection.On<JsonElement>(name, e => _events.Enqueue((name, e.GetRawText())));
        }
    }

    /// <summary>The recorded connection.</summary>
    public HubConnection Connection { get; }

    /// <summary>Every event so far, in arrival order.</summary>
    public IReadOnlyList<(string Name, string Json)> Events => _events.ToArray();

    /// <summary>Every event as text, for privacy assertions.</summary>
    public string AllText => string.Join('\n', _events.Select(e => e.Name + " " + e.Json));

    /// <summary>The events with one name.</summary>
    public IEnumerable<JsonElement> Of(string name) => Events.Where(e => e.Name == name).Select(e => JsonDocument.Parse(e.Json).RootElement);

    /// <summary>Waits (bounded polling) for an event with this name matching the predicate; fails the test after the timeout.</summary>
    public async Task<JsonElement> WaitForAsync(string name, Func<JsonElement, bool>? predicate = null, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (Environment.TickCount64 < deadline)
        {
            foreach (var e in Of(name))
            {
                if (predicate is null || predicate(e))
                {
                    return e;
                }
            }
            await Task.Delay(10);
        }
        Assert.Fail($"No {name} event within {timeoutMs} ms; got: {string.Join(", ", _events.Select(e => e.Name))}");
        return default;
    }
}
