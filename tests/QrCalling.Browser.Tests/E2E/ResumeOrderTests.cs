using System.Text.Json;
using Xunit;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>The web clients after a reconnect (wwwroot/js/client/call.js and rooms.js, in Chromium, with a scripted hub):
/// live entries that arrive before Resume's answer wait for it, and everything is handled in seq order. Before, a file
/// chunk sent right after the reconnect overtook the ones missed before it: the receiver threw the file away as
/// corrupt (call), or skipped the missed messages as seen (room).</summary>
[Collection(BrowserCollection.Name)]
public sealed class ResumeOrderTests(BrowserFixture browser) : IAsyncLifetime
{
    private SampleHostServer? _server;
    private Microsoft.Playwright.IBrowserContext? _context;

    /// <summary>One host and one browser context for the class: the tests only load the page's modules.</summary>
    public async Task InitializeAsync()
    {
        _server = await SampleHostServer.StartAsync();
        _context = await browser.NewDesktopContextAsync(_server.BaseUrl);
    }

    public async Task DisposeAsync()
    {
        await _context!.DisposeAsync();
        await _server!.DisposeAsync();
    }

    private async Task<Microsoft.Playwright.IPage> PageAsync()
    {
        var page = await _context!.NewPageAsync();
        await page.GotoAsync("/");
        return page;
    }

    /// <summary>A hub that records its handlers, answers Resume when the test says, and everything else at once.</summary>
    private const string ScriptedHub = """
        const scriptedHub = () => {
          const hub = { state: 'Connected', handlers: {}, reconnecting: [], reconnected: [], closed: [], resumes: [] };
          hub.on = (name, fn) => { hub.handlers[name] = fn; };
          hub.onreconnecting = (fn) => hub.reconnecting.push(fn);
          hub.onreconnected = (fn) => hub.reconnected.push(fn);
          hub.onclose = (fn) => hub.closed.push(fn);
          hub.send = async () => {};
          hub.stop = async () => {};
          hub.invoke = (method, ...args) => method === 'Resume'
            ? new Promise((resolve, reject) => hub.resumes.push({ args, resolve, reject }))
            : Promise.resolve(null);
          return hub;
        };
        const tick = () => new Promise((resolve) => setTimeout(resolve, 50));
        """;

    [Fact]
    public async Task Call_LiveEntriesAndTheEndBeforeResumesAnswer_AreHandledAfterTheMissedOnes_InSeqOrder_EvenAcrossAFailedResume()
    {
        var page = await PageAsync();

        var result = await page.EvaluateAsync<JsonElement>("async () => {" + ScriptedHub + """
              const { Call, routeCallEvents } = await import('/js/client/call.js');
              const hub = scriptedHub();
              const call = new Call({ hub, callId: 'call_x', myId: 'p_me', role: 'owner', media: 'chat' });
              routeCallEvents(hub, () => call);
              const order = [];
              call.process = async (kind, evt) => { order.push(`${kind}:${evt.seq}`); };
              call.addEventListener('ended', (e) => order.push(`ended:${e.detail.reason}`));
              const file = (seq) => ({ callId: 'call_x', seq, type: 'file', from: 'p_other', data: { c: String(seq) } });

              hub.handlers.Signal(file(1)); // before any reconnect: handled at once
              await tick();
              hub.reconnecting.forEach((fn) => fn());
              hub.handlers.Signal(file(7)); // live, right after the reconnect
              hub.reconnected.forEach((fn) => fn()); // Resume is asked
              hub.handlers.Chat({ callId: 'call_x', seq: 8, from: 'p_other', ciphertext: 'x' }); // live, before the answer
              hub.handlers.CallEnded({ callId: 'call_x', reason: 'hangup' }); // ...and the end right after it
              await tick();
              const beforeAnswer = [...order];
              // The first Resume is lost with the connection: everything stays held for the next one.
              hub.resumes[0].reject(new Error('Invocation canceled due to the underlying connection being closed.'));
              await tick();
              const afterLostResume = [...order];
              hub.reconnected.forEach((fn) => fn());
              hub.resumes[1].resolve([file(5), file(6), file(7), { seq: 8, type: 'chat', from: 'p_other', data: 'x' }]);
              await tick();
              await call.queue;
              await tick();
              return { beforeAnswer, afterLostResume, order, asked: hub.resumes.map((r) => r.args) };
            }
            """);

        Assert.Equal(["signal:1"], result.GetProperty("beforeAnswer").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["signal:1"], result.GetProperty("afterLostResume").EnumerateArray().Select(e => e.GetString()));
        // Missed 5 and 6 first, then 7 and 8 (each from Resume, then its live twin, which the call drops by seq), and
        // the end only after them.
        Assert.Equal(["signal:1", "signal:5", "signal:6", "signal:7", "signal:7", "chat:8", "chat:8", "ended:hangup"],
            result.GetProperty("order").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, result.GetProperty("asked").GetArrayLength());
    }

    [Fact]
    public async Task Call_ResumeRefusedByTheServer_ReleasesTheHeldEntriesInOrder()
    {
        var page = await PageAsync();

        var order = await page.EvaluateAsync<string[]>("async () => {" + ScriptedHub + """
              const { Call } = await import('/js/client/call.js');
              const hub = scriptedHub();
              const call = new Call({ hub, callId: 'call_x', myId: 'p_me', role: 'caller', media: 'chat' });
              const order = [];
              call.process = async (kind, evt) => { order.push(`${kind}:${evt.seq}`); };
              call.connection('reconnecting');
              call.enqueue('signal', { callId: 'call_x', seq: 4, type: 'ice-candidate', data: {} });
              call.enqueue('signal', { callId: 'call_x', seq: 3, type: 'ice-candidate', data: {} });
              const online = call.connection('online');
              await tick();
              hub.resumes[0].reject(new Error('An unexpected error occurred invoking \'Resume\' on the server. HubException: rate_limited: Too many hub calls; slow down.'));
              await online;
              await call.queue;
              return order;
            }
            """);

        Assert.Equal(["signal:3", "signal:4"], order);
    }

    [Fact]
    public async Task Room_LiveMessagesBeforeResumesAnswer_WaitForIt_NoMissedMessageIsSkipped()
    {
        var page = await PageAsync();

        var result = await page.EvaluateAsync<JsonElement>("async () => {" + ScriptedHub + """
              const { Room } = await import('/js/client/rooms.js');
              const hub = scriptedHub();
              const room = new Room({ hub, api: {}, roomId: 'room_x', participantId: 'p_me', participantToken: 't', expiresAt: null, maxParticipants: 4 });
              const handled = [];
              room.handle = async (m) => { handled.push(m.seq); };
              room.startPairs = async () => {};
              room.startedPairs = true; // the first RoomJoined is behind it
              const message = (seq) => ({ seq, from: 'p_other', kind: 'text', ciphertext: 'c' + seq, at: new Date().toISOString() });

              hub.handlers.Message(message(1));
              await room.inbox;
              hub.reconnecting.forEach((fn) => fn());
              hub.handlers.Message(message(9)); // live, right after the reconnect
              const resumed = Promise.all(hub.reconnected.map((fn) => fn()));
              hub.handlers.Message(message(10));
              await tick();
              const beforeAnswer = [...handled];
              hub.resumes[0].resolve([message(2), message(3), message(9)]);
              await resumed;
              await room.inbox;
              return { beforeAnswer, handled, lastSeq: room.lastSeq, asked: hub.resumes[0].args };
            }
            """);

        Assert.Equal([1], result.GetProperty("beforeAnswer").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 2, 3, 9, 10], result.GetProperty("handled").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(10, result.GetProperty("lastSeq").GetInt32());
        Assert.Equal([1], result.GetProperty("asked").EnumerateArray().Select(e => e.GetInt32()));
    }
}
