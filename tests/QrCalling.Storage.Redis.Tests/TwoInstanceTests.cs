using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Storage.Redis.Tests;

/// <summary>Two host instances sharing one Redis (storage and SignalR backplane): the owner's device on A, the caller
/// on B; then A stops mid-call and the owner resumes on B.</summary>
public sealed class TwoInstanceTests
{
    private static readonly JsonElement Offer = JsonSerializer.SerializeToElement(new { type = "offer", sdp = "v=0 offer" });
    private static readonly JsonElement Answer = JsonSerializer.SerializeToElement(new { type = "answer", sdp = "v=0 answer" });

    private static JsonElement Ice(int n) => JsonSerializer.SerializeToElement(new { candidate = $"candidate:{n} 1 udp 1 127.0.0.1 {5000 + n} typ host", sdpMid = "0" });

    [Fact]
    public async Task CallAcrossInstances_EveryStepDelivered_AndOwnerResumesOnOtherInstanceAfterStop()
    {
        var keyPrefix = RedisTestStorage.NewPrefix();
        var channel = "qrtest-" + Guid.NewGuid().ToString("N");
        await using var a = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        await using var b = await RedisHost.StartAsync(TestServers.Redis, keyPrefix, channel);
        try
        {
            var watch = Stopwatch.StartNew();
            var owner = "alice-" + Guid.NewGuid().ToString("N");
            var code = await a.Client(owner).PostJsonAsync("/api/v1/codes", new { label = "Front door" }, HttpStatusCode.Created);
            var d1 = await a.ConnectAsync(owner: owner, deviceId: "device-one");
            var d2 = await b.ConnectAsync(owner: owner, deviceId: "device-two");

            // The caller starts on B; both devices ring, the one on A through the backplane.
            var started = await b.Client().PostJsonAsync("/api/v1/calls", new { payload = code.GetProperty("payload").GetString(), media = "video" },
                HttpStatusCode.Created);
            var callId = started.GetProperty("callId").GetString()!;
            var setupMs = watch.ElapsedMilliseconds;
            await d1.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == callId);
            var ringMs = watch.ElapsedMilliseconds - setupMs;
            await d2.WaitForAsync("IncomingCall", e => e.GetProperty("callId").GetString() == callId);
            var caller = await b.ConnectAsync(callToken: started.GetProperty("callToken").GetString());

            // Early offer while ringing: no device sees it before accepting.
            var offerSeq = await caller.Connection.InvokeAsync<long>("Signal", callId, "offer", Offer);
            await d1.Connection.InvokeAsync("Accept", callId);
            await caller.WaitForAsync("CallAccepted", e => e.GetProperty("callId").GetString() == callId);
            await d2.WaitForAsync("CallAnsweredElsewhere", e => e.GetProperty("callId").GetString() == callId);
            var relayedOffer = await d1.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == offerSeq);
            Assert.Equal("v=0 offer", relayedOffer.GetProperty("data").GetProperty("sdp").GetString());
            Assert.DoesNotContain(d2.Events, e => e.Name == "Signal");

            // Answer and ICE from A to the caller on B, ICE and chat from B to the owner on A.
            var answerSeq = await d1.Connection.InvokeAsync<long>("Signal", callId, "answer", Answer);
            var ownerIceSeq = await d1.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", Ice(1));
            await caller.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == answerSeq && e.GetProperty("type").GetString() == "answer");
            await caller.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == ownerIceSeq);
            var callerIceSeq = await caller.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", Ice(2));
            var chatSeq = await caller.Connection.InvokeAsync<long>("Chat", callId, "Y2lwaGVydGV4dA==");
            await d1.WaitForAsync("Signal", e => e.GetProperty("seq").GetInt64() == callerIceSeq);
            var chat = await d1.WaitForAsync("Chat", e => e.GetProperty("seq").GetInt64() == chatSeq);
            Assert.Equal("Y2lwaGVydGV4dA==", chat.GetProperty("ciphertext").GetString());
            var ownerChatSeq = await d1.Connection.InvokeAsync<long>("Chat", callId, "b3duZXI=");
            await caller.WaitForAsync("Chat", e => e.GetProperty("seq").GetInt64() == ownerChatSeq);
            Assert.DoesNotContain(d2.Events, e => e.Name is "Signal" or "Chat");
            var lastSeenByOwner = new[] { offerSeq, callerIceSeq, chatSeq }.Max();
            var establishedMs = watch.ElapsedMilliseconds - setupMs;

            // Instance A stops mid-call; the caller keeps sending; the owner's device reconnects to B and resumes.
            await a.StopAsync();
            var missedIce = await caller.Connection.InvokeAsync<long>("Signal", callId, "ice-candidate", Ice(3));
            var missedChat = await caller.Connection.InvokeAsync<long>("Chat", callId, "bWlzc2Vk");
            var d1Again = await b.ConnectAsync(owner: owner, deviceId: "device-one");
            var resumed = await d1Again.Connection.InvokeAsync<JsonElement>("Resume", callId, lastSeenByOwner);

            var seqs = resumed.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()).ToList();
            Assert.Equal([missedIce, missedChat], seqs);
            Assert.Equal(["ice-candidate", "chat"], resumed.EnumerateArray().Select(e => e.GetProperty("type").GetString()!));
            Assert.Equal(Ice(3).GetProperty("candidate").GetString(), resumed[0].GetProperty("data").GetProperty("candidate").GetString());

            // Hangup from the owner on B reaches the caller.
            await d1Again.Connection.InvokeAsync("Hangup", callId);
            var ended = await caller.WaitForAsync("CallEnded", e => e.GetProperty("callId").GetString() == callId);
            Assert.Equal("hangup", ended.GetProperty("reason").GetString());
            Console.WriteLine($"[figures] two instances: first code+connections+call {setupMs} ms; ring across instances {ringMs} ms; call start to chat both ways {establishedMs} ms; whole scenario {watch.ElapsedMilliseconds} ms");
        }
        finally
        {
            await b.StopAsync();
            await RedisTestStorage.DeleteAllAsync(keyPrefix);
        }
    }
}
