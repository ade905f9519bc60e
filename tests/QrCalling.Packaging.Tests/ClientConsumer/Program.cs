// "Client alone": QrCalling.Client from its package, and nothing of the server. Both sides of a whole call against a
// running host: a code, a device that rings, a caller who scans and calls, an accept, the E2E key exchange, an
// encrypted chat each way, a hang-up. Usage: ClientConsumer <host URL> <owner's access token>.
// Prints "call completed" and exits 0 when the call went through; any failure throws (exit code != 0).
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Client;
using QrCalling.Client.E2E;

if (args.Length != 2)
{
    throw new ArgumentException("Usage: ClientConsumer <host URL> <owner's access token>");
}
var hostUrl = new Uri(args[0]);
var ownerToken = args[1];
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var ct = timeout.Token;

// README:begin
var services = new ServiceCollection();
services.AddQrCallingClient(o =>
{
    o.BaseAddress = hostUrl;                                        // the QrCalling host
    o.OwnerAccessToken = _ => ValueTask.FromResult(ownerToken);     // the owner's token from your own sign-in
});
await using var provider = services.BuildServiceProvider();
var owner = provider.GetRequiredService<QrCallingOwnerClient>();
var callers = provider.GetRequiredService<QrCallingCallerClient>();

// The owner: a code, and a device that rings.
var code = await owner.CreateCodeAsync(new CodeSettings { Label = "Front door" }, ct);
await using var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync(ct), ct);

// A stranger scans the code and calls.
var scan = await callers.ScanAsync(code.Link, ct);
var call = await callers.StartCallAsync(code.Payload, CallMedia.Chat, ct);
await using var caller = await callers.ConnectAsync(call, ct);

// The device rings and answers. Events arrive once and in order, also across reconnects.
await foreach (var e in device.ReadEventsAsync(ct))
{
    if (e is IncomingCall ring)
    {
        await device.AcceptAsync(ring.CallId, ct);
        break;
    }
}
// README:end
Check(scan.Label == "Front door", "the scan shows the code's label");

// The E2E key exchange rides on key-exchange signals; then one encrypted chat each way.
using var callerE2E = new E2ESession(E2ERole.Initiator, call.CallId);
using var ownerE2E = new E2ESession(E2ERole.Responder, call.CallId);
var callerEvents = caller.ReadEventsAsync(ct).GetAsyncEnumerator(ct);
var deviceEvents = device.ReadEventsAsync(ct).GetAsyncEnumerator(ct);
await caller.SignalAsync("key-exchange", ToJson(callerE2E.Start()), ct);
while (callerE2E.State != E2ESessionState.Established || ownerE2E.State != E2ESessionState.Established)
{
    if (ownerE2E.State != E2ESessionState.Established)
    {
        var atOwner = await NextAsync<SignalReceived>(deviceEvents);
        if (ownerE2E.Receive(E2EMessage.Parse(atOwner.Data.GetRawText())).Reply is { } toCaller)
        {
            await device.SignalAsync(call.CallId, "key-exchange", ToJson(toCaller), ct);
        }
    }
    if (callerE2E.State != E2ESessionState.Established)
    {
        var atCaller = await NextAsync<SignalReceived>(callerEvents);
        if (callerE2E.Receive(E2EMessage.Parse(atCaller.Data.GetRawText())).Reply is { } toOwner)
        {
            await caller.SignalAsync("key-exchange", ToJson(toOwner), ct);
        }
    }
}
Check(callerE2E.CheckCode == ownerE2E.CheckCode, "both sides show the same check code");
await caller.ChatAsync(callerE2E.Encrypt("hello owner"), ct);
Check(ownerE2E.Decrypt((await NextAsync<ChatReceived>(deviceEvents)).Ciphertext).Text == "hello owner", "the owner reads the caller's chat");
await device.ChatAsync(call.CallId, ownerE2E.Encrypt("hello caller"), ct);
Check(callerE2E.Decrypt((await NextAsync<ChatReceived>(callerEvents)).Ciphertext).Text == "hello caller", "the caller reads the owner's chat");

await caller.HangupAsync(ct);
Check((await NextAsync<CallEnded>(deviceEvents)).Reason == "hangup", "the owner hears the hang-up");
await callerEvents.DisposeAsync();
await deviceEvents.DisposeAsync();
Console.WriteLine("call completed");
return 0;

static JsonElement ToJson(E2EMessage message) => JsonDocument.Parse(message.ToJson()).RootElement;

static async Task<T> NextAsync<T>(IAsyncEnumerator<CallEvent> events) where T : CallEvent
{
    while (await events.MoveNextAsync())
    {
        if (events.Current is T wanted)
        {
            return wanted;
        }
    }
    throw new InvalidOperationException($"The events ended before a {typeof(T).Name}.");
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("Failed: " + what);
    }
}
