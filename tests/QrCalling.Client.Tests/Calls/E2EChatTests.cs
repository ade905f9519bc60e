using System.Text.Json;
using QrCalling.Client.E2E;

namespace QrCalling.Client.Tests.Calls;

/// <summary>End-to-end encrypted chat between two .NET clients through a real host: the key exchange rides on
/// <c>key-exchange</c> signals, both sides show the same check code, and the host relays only ciphertext.</summary>
public sealed class E2EChatTests
{
    [Fact]
    public async Task TwoDotNetClients_RunTheKeyExchangeThroughTheHost_AgreeOnTheCheckCode_AndChatBothWays()
    {
        await using var host = await ClientTestHost.StartAsync();
        var owner = host.Owner("alice");
        var code = await owner.CreateCodeAsync(new CodeSettings { Label = "Chat", Media = [CallMedia.Chat] });
        await using var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync());
        var callers = host.Caller();
        var started = await callers.StartCallAsync(code.Payload, CallMedia.Chat);
        await using var caller = await callers.ConnectAsync(started);

        using var initiator = new E2ESession(E2ERole.Initiator, started.CallId);
        using var responder = new E2ESession(E2ERole.Responder, started.CallId);
        // The caller commits while the call rings; the commitment waits for the device that accepts.
        await caller.SignalAsync("key-exchange", JsonDocument.Parse(initiator.Start().ToJson()).RootElement);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ownerSide = Task.Run(async () =>
        {
            var texts = new List<string>();
            await foreach (var e in device.ReadEventsAsync(stop.Token))
            {
                switch (e)
                {
                    case IncomingCall ring:
                        await device.AcceptAsync(ring.CallId, stop.Token);
                        break;
                    case SignalReceived { Type: "key-exchange" } signal:
                        var result = responder.Receive(E2EMessage.Parse(signal.Data.GetRawText()));
                        if (result.Reply is { } reply)
                        {
                            await device.SignalAsync(started.CallId, "key-exchange", JsonDocument.Parse(reply.ToJson()).RootElement, stop.Token);
                        }
                        break;
                    case ChatReceived chat:
                        var text = responder.Decrypt(chat.Ciphertext).Text;
                        texts.Add(text);
                        await device.ChatAsync(started.CallId, responder.Encrypt("re: " + text), stop.Token);
                        break;
                    case CallEnded:
                        return texts;
                }
            }
            return texts;
        });

        var received = new List<string>();
        await foreach (var e in caller.ReadEventsAsync(stop.Token))
        {
            if (e is SignalReceived { Type: "key-exchange" } signal)
            {
                var result = initiator.Receive(E2EMessage.Parse(signal.Data.GetRawText()));
                if (result.Reply is { } reply)
                {
                    await caller.SignalAsync("key-exchange", JsonDocument.Parse(reply.ToJson()).RootElement, stop.Token);
                }
                if (initiator.State == E2ESessionState.Established)
                {
                    await caller.ChatAsync(initiator.Encrypt("hello from .NET"), stop.Token);
                    await caller.ChatAsync(initiator.Encrypt("ünïcødé ✓"), stop.Token);
                }
            }
            else if (e is ChatReceived chat)
            {
                received.Add(initiator.Decrypt(chat.Ciphertext).Text);
                if (received.Count == 2)
                {
                    break;
                }
            }
        }
        await caller.HangupAsync(stop.Token);
        var ownerReceived = await ownerSide;

        Assert.Equal(E2ESessionState.Established, initiator.State);
        Assert.Equal(E2ESessionState.Established, responder.State);
        Assert.Matches("^[0-9]{3} [0-9]{3}$", initiator.CheckCode!);
        Assert.Equal(initiator.CheckCode, responder.CheckCode);
        Assert.Equal(["hello from .NET", "ünïcødé ✓"], ownerReceived);
        Assert.Equal(["re: hello from .NET", "re: ünïcødé ✓"], received);
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains("hello", StringComparison.Ordinal));
    }
}
