using System.Diagnostics.Metrics;
using System.Text.Json;

namespace QrCalling.Client.Tests.Calls;

/// <summary>A connection dropped mid-call (the TCP connection cut under it) comes back by itself, resumes the call, and
/// the application sees every signal and chat once, in order: nothing lost, nothing duplicated.</summary>
public sealed class ReconnectTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DroppedMidCall_BothSidesReconnectAndResume_NothingLostNothingDuplicated(bool messagePack)
    {
        await using var host = await ClientTestHost.StartAsync(messagePack);
        var ownerProxy = host.Proxy();
        var callerProxy = host.Proxy();
        var owner = host.Owner("alice", messagePack, via: ownerProxy.Address);
        var code = await owner.CreateCodeAsync(new CodeSettings { Label = "Gate" });
        await using var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync());
        var deviceEvents = new EventLog(device.ReadEventsAsync());
        var callers = host.Caller(messagePack, via: callerProxy.Address);
        var started = await callers.StartCallAsync(code.Payload, CallMedia.Audio);
        await using var caller = await callers.ConnectAsync(started);
        var callerEvents = new EventLog(caller.ReadEventsAsync());
        await deviceEvents.WaitForAsync<IncomingCall>();
        await device.AcceptAsync(started.CallId);
        await callerEvents.WaitForAsync<CallAccepted>();
        long duplicates = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "QrCalling" && instrument.Name == "qrcalling.client.events.duplicates")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref duplicates, value));
        listener.Start();

        var sentToCaller = new List<long>();
        var sentToOwner = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            sentToCaller.Add(await device.ChatAsync(started.CallId, $"before-{i}"));
            sentToOwner.Add(await caller.SignalAsync("ice-candidate", JsonDocument.Parse($$"""{"candidate":"c{{i}}"}""").RootElement));
        }
        await callerEvents.WaitForCountAsync<ChatReceived>(3);

        // The caller's connection is cut and stays down (its reconnect attempts fail) while the owner keeps talking: the
        // host keeps that in the mailbox.
        var joinedAtDevice = deviceEvents.Of<PeerJoined>().Count();
        var leftAtDevice = deviceEvents.Of<PeerLeft>().Count();
        callerProxy.Blocked = true;
        callerProxy.DropAll();
        await deviceEvents.WaitForCountAsync<PeerLeft>(leftAtDevice + 1);
        for (var i = 0; i < 5; i++)
        {
            sentToCaller.Add(await device.ChatAsync(started.CallId, $"while-away-{i}"));
        }
        // The network comes back: the caller reconnects by itself, and once it is back (the host tells the owner) it
        // sends too.
        callerProxy.Blocked = false;
        await deviceEvents.WaitForCountAsync<PeerJoined>(joinedAtDevice + 1);
        sentToOwner.Add(await caller.ChatAsync("from-caller-after-drop"));
        await callerEvents.WaitForCountAsync<ChatReceived>(8);

        // Now the owner's device is cut and stays down; the caller keeps talking.
        var joinedAtCaller = callerEvents.Of<PeerJoined>().Count();
        var leftAtCaller = callerEvents.Of<PeerLeft>().Count();
        ownerProxy.Blocked = true;
        ownerProxy.DropAll();
        await callerEvents.WaitForCountAsync<PeerLeft>(leftAtCaller + 1);
        for (var i = 0; i < 5; i++)
        {
            sentToOwner.Add(await caller.ChatAsync($"to-away-owner-{i}"));
        }
        ownerProxy.Blocked = false;
        await callerEvents.WaitForCountAsync<PeerJoined>(joinedAtCaller + 1);
        sentToCaller.Add(await device.SignalAsync(started.CallId, "renegotiate", JsonDocument.Parse("""{"iceRestart":true}""").RootElement));
        await deviceEvents.WaitForCountAsync<ChatReceived>(6);
        await callerEvents.WaitForAsync<SignalReceived>(s => s.Type == "renegotiate");

        // Once more after both are back, then hang up.
        sentToCaller.Add(await device.ChatAsync(started.CallId, "last"));
        await callerEvents.WaitForAsync<ChatReceived>(c => c.Ciphertext == "last");
        await caller.HangupAsync();
        await deviceEvents.WaitForAsync<CallEnded>();
        await callerEvents.WaitForAsync<CallEnded>();

        static long SeqOf(CallEvent e) => e switch { SignalReceived s => s.Seq, ChatReceived c => c.Seq, _ => -1 };
        Assert.Equal(sentToCaller, callerEvents.Events.Select(SeqOf).Where(s => s >= 0));
        Assert.Equal(sentToOwner, deviceEvents.Events.Select(SeqOf).Where(s => s >= 0));
        Assert.Equal(["before-0", "before-1", "before-2", "while-away-0", "while-away-1", "while-away-2", "while-away-3", "while-away-4", "last"],
            callerEvents.Of<ChatReceived>().Select(c => c.Ciphertext));
        Assert.Single(callerEvents.Of<CallAccepted>());
        Assert.Single(callerEvents.Of<CallEnded>());
        Assert.Equal("hangup", deviceEvents.Of<CallEnded>().Single().Reason);
        Assert.True(callerProxy.Dropped > 0 && ownerProxy.Dropped > 0);
        // The host offered entries twice (pushed on connect and in the Resume answer): the client dropped the repeats.
        Assert.True(Interlocked.Read(ref duplicates) > 0, "the reconnects offered no entry twice, so de-duplication was not exercised");
        Assert.Null(callerEvents.Error);
        Assert.Null(deviceEvents.Error);
    }

    [Fact]
    public async Task HostGone_TheEventStreamEndsWithDisconnected_AndSendsAreRefused()
    {
        var host = await ClientTestHost.StartAsync();
        var owner = new QrCallingOwnerClient(new HttpClient(), ClientTestHost.Options(host.Address, "alice") is var o
            ? new QrCallingClientOptions { BaseAddress = o.BaseAddress, OwnerAccessToken = o.OwnerAccessToken, ReconnectDelays = [TimeSpan.FromMilliseconds(100)], ReconnectTimeout = TimeSpan.FromMilliseconds(500) }
            : null!);
        await using var device = await owner.ConnectAsync(await owner.RegisterDeviceAsync());
        var events = new EventLog(device.ReadEventsAsync());

        await host.DisposeAsync();

        var deadline = Environment.TickCount64 + 15_000;
        while (events.Error is null && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }
        Assert.Equal(QrCallingException.DisconnectedCode, Assert.IsType<QrCallingException>(events.Error).Code);
        var refused = await Assert.ThrowsAsync<QrCallingException>(() => device.AcceptAsync("call_x"));
        Assert.Equal(QrCallingException.DisconnectedCode, refused.Code);
    }
}
