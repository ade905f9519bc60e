using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>Issue 12 §2: participants of one room connected to two instances (Redis storage and backplane) see each other
/// join, exchange per-recipient messages, and hear of a leave and of the room's end.</summary>
public sealed class TwoInstanceRoomsTests
{
    private static async Task<(HubConnection Connection, ConcurrentQueue<(string Name, JsonElement Body)> Events)> ConnectAsync(RedisHost host, string token)
    {
        var ticket = await (await host.Client().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/v1/hub-tickets")
        {
            Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token) },
        })).ReadJsonAsync(HttpStatusCode.Created);
        var server = host.Server;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/rooms?access_token=" + Uri.EscapeDataString(ticket.GetProperty("ticket").GetString()!)), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.HttpMessageHandlerFactory = _ => server.CreateHandler();
                o.WebSocketFactory = async (context, cancellationToken) => await server.CreateWebSocketClient().ConnectAsync(context.Uri, cancellationToken);
            })
            .Build();
        var events = new ConcurrentQueue<(string, JsonElement)>();
        foreach (var name in new[] { "RoomJoined", "ParticipantJoined", "ParticipantLeft", "Message", "MessageSent", "RoomEnded" })
        {
            connection.On<JsonElement>(name, e => events.Enqueue((name, e.Clone())));
        }
        await connection.StartAsync();
        await WaitForAsync(events, "RoomJoined");
        return (connection, events);
    }

    private static async Task<JsonElement> WaitForAsync(ConcurrentQueue<(string Name, JsonElement Body)> events, string name, Func<JsonElement, bool>? predicate = null)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (Environment.TickCount64 < deadline)
        {
            foreach (var (n, body) in events)
            {
                if (n == name && (predicate?.Invoke(body) ?? true))
                {
                    return body;
                }
            }
            await Task.Delay(10);
        }
        throw new Xunit.Sdk.XunitException($"No {name}; got {string.Join(", ", events.Select(e => e.Name))}");
    }

    [Fact]
    public async Task Rooms_ParticipantsOnTwoInstances_ExchangeMessagesAndHearLeaveAndEnd()
    {
        var keyPrefix = RedisTestStorage.NewPrefix();
        var channel = "qrtest-" + Guid.NewGuid().ToString("N");
        await using var a = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        await using var b = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        var room = await a.Client().PostJsonAsync("/api/v1/rooms", new { maxParticipants = 3 }, HttpStatusCode.Created);
        var link = room.GetProperty("link").GetString()!;
        var aliceJoin = await a.Client().PostJsonAsync("/api/v1/rooms/join", new { link, displayName = "Alice" }, HttpStatusCode.OK);
        var bobJoin = await b.Client().PostJsonAsync("/api/v1/rooms/join", new { link, displayName = "Bob" }, HttpStatusCode.OK);
        var alice = await ConnectAsync(a, aliceJoin.GetProperty("participantToken").GetString()!);
        var bob = await ConnectAsync(b, bobJoin.GetProperty("participantToken").GetString()!);
        var bobId = bobJoin.GetProperty("participantId").GetString()!;
        var aliceId = aliceJoin.GetProperty("participantId").GetString()!;
        await WaitForAsync(alice.Events, "ParticipantJoined", e => e.GetProperty("participantId").GetString() == bobId);

        var sent = await alice.Connection.InvokeAsync<JsonElement>("Send", JsonSerializer.SerializeToElement(new
        {
            clientMessageId = "c1", kind = "text", ciphertexts = new Dictionary<string, string> { [bobId] = "across-instances" },
        }));
        var message = await WaitForAsync(bob.Events, "Message");
        Assert.Equal(("across-instances", aliceId, sent.GetProperty("seq").GetInt64()),
            (message.GetProperty("ciphertext").GetString(), message.GetProperty("from").GetString(), message.GetProperty("seq").GetInt64()));
        await WaitForAsync(alice.Events, "MessageSent", e => e.GetProperty("clientMessageId").GetString() == "c1");

        await bob.Connection.InvokeAsync("Leave");
        await WaitForAsync(alice.Events, "ParticipantLeft", e => e.GetProperty("participantId").GetString() == bobId);

        // A third participant on B; Alice (the last but one) leaves on A, then the last leaves on B: the room ends.
        var carolJoin = await b.Client().PostJsonAsync("/api/v1/rooms/join", new { link }, HttpStatusCode.OK);
        var carol = await ConnectAsync(b, carolJoin.GetProperty("participantToken").GetString()!);
        await alice.Connection.InvokeAsync("Leave");
        await WaitForAsync(carol.Events, "ParticipantLeft", e => e.GetProperty("participantId").GetString() == aliceId);
        var left = await a.Client().SendAsync(new HttpRequestMessage(HttpMethod.Post, $"/api/v1/rooms/{room.GetProperty("roomId").GetString()}/leave")
        {
            Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", carolJoin.GetProperty("participantToken").GetString()) },
        });
        Assert.Equal(HttpStatusCode.NoContent, left.StatusCode);
        Assert.Equal("empty", (await WaitForAsync(carol.Events, "RoomEnded")).GetProperty("reason").GetString());
        await (await b.Client().PostAsJsonAsync("/api/v1/rooms/join", new { link })).ReadJsonAsync(HttpStatusCode.NotFound);
    }
}
