using System.Text.Json;
using Microsoft.Playwright;
using QrCalling.Client.E2E;
using Xunit;

namespace QrCalling.Browser.Tests.E2E;

/// <summary>Files v1 between the web app's files.js (in Chromium) and the .NET client's E2EFileTransfers, over real E2E
/// v1 sessions; every frame crosses as JSON text, as a <c>file</c> signal's data would: a file each way arrives whole,
/// and the sender hears that it was saved.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DotNetFileTests(BrowserFixture browser)
{
    [Fact]
    public async Task FilesJs_AndTheDotNetClient_SendFilesBothWays_AndTheSavedNotification()
    {
        await using var server = await SampleHostServer.StartAsync();
        await using var context = await browser.NewDesktopContextAsync(server.BaseUrl);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        const string callId = "call_filesinterop000000001";
        using var session = new E2ESession(E2ERole.Responder, callId);
        await page.EvaluateAsync("""
            async (callId) => {
              const { E2ESession } = await import('/js/client/e2e.js');
              const { FileTransfers } = await import('/js/client/files.js');
              const e2e = new E2ESession({ role: 'initiator', contextId: callId });
              window.__e2e = e2e;
              window.__out = [];
              window.__log = [];
              const files = new FileTransfers({
                encrypt: (t) => e2e.encrypt(t), decrypt: async (c) => (await e2e.decrypt(c)).text,
                send: async (f) => { window.__out.push(JSON.stringify(f)); }, chunkBytes: 4096 });
              for (const type of ['offer', 'complete', 'delivered', 'saved', 'failed', 'refused']) {
                files.addEventListener(type, (e) => {
                  window.__log.push(type + (e.detail.reason ? ':' + e.detail.reason : ''));
                  if (type === 'offer') files.accept(e.detail.transfer.id);
                  if (type === 'complete') { window.__received = e.detail.blob; files.markSaved(e.detail.transfer.id); }
                });
              }
              window.__files = files;
            }
            """, callId);
        var reveal = session.Receive(E2EMessage.Parse(await page.EvaluateAsync<string>("async () => JSON.stringify(await window.__e2e.start())"))).Reply!;
        var last = await page.EvaluateAsync<string?>("async (json) => { const r = await window.__e2e.receive(JSON.parse(json)); return r.reply ? JSON.stringify(r.reply) : null; }", reveal.ToJson());
        Assert.Null(session.Receive(E2EMessage.Parse(last!)).Reply);

        var toBrowser = new List<JsonElement>();
        var dotnetEvents = new List<E2EFileEvent>();
        var files = new E2EFileTransfers(session, (frame, _) => { toBrowser.Add(frame); return Task.CompletedTask; }, chunkBytes: 8192);

        async Task PumpAsync()
        {
            for (var quiet = 0; quiet < 3;)
            {
                await Task.Delay(50);
                var fromBrowser = await page.EvaluateAsync<string[]>("() => window.__out.splice(0)");
                var outgoing = toBrowser.ToList();
                toBrowser.Clear();
                foreach (var frame in outgoing)
                {
                    await page.EvaluateAsync("async (json) => { await window.__files.receiveFrame(JSON.parse(json)); }", frame.GetRawText());
                }
                foreach (var json in fromBrowser)
                {
                    var events = await files.ReceiveAsync(JsonDocument.Parse(json).RootElement.Clone());
                    dotnetEvents.AddRange(events);
                    foreach (var e in events)
                    {
                        if (e.Kind == "offer") await files.AcceptAsync(e.Transfer!.Id);
                        if (e.Kind == "complete") await files.MarkSavedAsync(e.Transfer!.Id);
                    }
                }
                quiet = fromBrowser.Length == 0 && outgoing.Count == 0 ? quiet + 1 : 0;
            }
        }

        // .NET → browser (a chunk size the browser did not choose; 3 chunks, the last one short).
        var content = Enumerable.Range(0, 20_000).Select(i => (byte)(i * 7 % 253)).ToArray();
        var sent = await files.OfferAsync("from dotnet ✓.bin", "application/octet-stream", content);
        await PumpAsync();
        var received = await page.EvaluateAsync<int[]>("async () => Array.from(new Uint8Array(await window.__received.arrayBuffer()))");
        Assert.Equal(content, received.Select(b => (byte)b).ToArray());
        Assert.Equal(E2EFileState.Delivered, sent.State);
        Assert.True(sent.Saved);
        Assert.Contains(dotnetEvents, e => e.Kind == "saved");

        // browser → .NET.
        await page.EvaluateAsync("async () => { await window.__files.offer({ name: 'from the browser.txt', type: 'text/plain', bytes: Uint8Array.from({ length: 30000 }, (_, i) => (i * 11) % 256) }); }");
        await PumpAsync();
        var complete = Assert.Single(dotnetEvents, e => e.Kind == "complete");
        Assert.Equal("from the browser.txt", complete.Transfer!.Name);
        Assert.Equal(Enumerable.Range(0, 30_000).Select(i => (byte)(i * 11 % 256)).ToArray(), complete.Transfer.Content);
        var log = await page.EvaluateAsync<string[]>("() => window.__log");
        Assert.Contains("delivered", log);
        Assert.Contains("saved", log);
        Assert.DoesNotContain(log, l => l.StartsWith("refused", StringComparison.Ordinal) || l.StartsWith("failed", StringComparison.Ordinal));
        Assert.DoesNotContain(dotnetEvents, e => e.Kind is "refused" or "failed");
    }
}
