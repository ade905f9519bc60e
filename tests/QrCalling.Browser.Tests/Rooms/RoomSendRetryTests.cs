using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace QrCalling.Browser.Tests.Rooms;

/// <summary>A burst of room messages that outruns the receiver's window: the hub refuses some with `rate_limited`, the
/// client sends those again (the same ciphertexts), and the receiver gets every message in order with no "did not
/// arrive" notice (before, each refusal spent an E2E counter the receiver then reported as a missing message). Anna on a
/// phone, Ben on a desktop.</summary>
[Collection(BrowserCollection.Name)]
public sealed class RoomSendRetryTests(BrowserFixture browser) : IAsyncLifetime
{
    private readonly List<IBrowserContext> _contexts = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var context in _contexts)
        {
            await context.DisposeAsync();
        }
    }

    [Fact]
    public async Task ABurstBeyondTheWindow_RefusedSendsAreSentAgain_TheReceiverGetsEveryMessage_AndNoGapNotice()
    {
        var refusals = new ConcurrentQueue<string>();
        // Room for three 20 KB messages to Ben at a time: the rest are refused until his page acknowledges.
        await using var server = await SampleHostServer.StartAsync(
            builder => builder.Services.Configure<HubOptions>(o => o.AddFilter(new RecordRefusals(refusals))),
            "--QrCalling:Rooms:WindowBytes=66000");
        var anna = await NewPageAsync(server, phone: true);
        var ben = await NewPageAsync(server, phone: false);
        var errors = WebApp.CollectErrors(anna, ben);
        var link = await RoomPageTests.StartRoomAsync(anna, "Anna");
        await RoomPageTests.JoinAsync(ben, link, "Ben");
        await RoomPageTests.EveryPairSameCodeAsync([anna, ben]);

        // Ten long messages at once through the page's room (the form sends one at a time; a script can do this).
        var sent = await anna.EvaluateAsync<int>("""
            async () => {
              const room = window.qrcallingRoomDebug;
              const results = await Promise.allSettled(
                Array.from({ length: 10 }, (_, i) => room.sendText(`burst ${i} ` + 'x'.repeat(20000))));
              return results.filter(r => r.status === 'fulfilled').length;
            }
            """);
        Assert.Equal(10, sent);
        Assert.Contains(refusals, r => r.Contains("rate_limited", StringComparison.Ordinal)); // the window did refuse

        var arrived = ben.Locator("[data-testid=room-message].them");
        await Expect(arrived).ToHaveCountAsync(10, new() { Timeout = 20_000 });
        for (var i = 0; i < 10; i++)
        {
            await Expect(arrived.Nth(i)).ToContainTextAsync($"burst {i} ");
        }
        await Expect(ben.GetByTestId("room-notice").Filter(new() { HasText = "did not arrive" })).ToHaveCountAsync(0);
        await RoomPageTests.SendAsync(ben, "all ten here", anna);
        Assert.Empty(errors);
    }

    private async Task<IPage> NewPageAsync(SampleHostServer server, bool phone)
    {
        var context = phone ? await browser.NewPhoneContextAsync(server.BaseUrl) : await browser.NewDesktopContextAsync(server.BaseUrl);
        _contexts.Add(context);
        return await context.NewPageAsync();
    }

    /// <summary>Records the error of every hub invocation the host refused.</summary>
    private sealed class RecordRefusals(ConcurrentQueue<string> refusals) : IHubFilter
    {
        public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
        {
            try
            {
                return await next(invocationContext);
            }
            catch (HubException e)
            {
                refusals.Enqueue(invocationContext.HubMethodName + ": " + e.Message);
                throw;
            }
        }
    }
}
