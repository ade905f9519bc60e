using Microsoft.Extensions.Logging.Abstractions;
using QrCalling.Hosting.Hubs;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>The per-instance hub bookkeeping under concurrency and in SignalR's possible orderings.</summary>
public sealed class HubStateTests
{
    [Fact]
    public async Task ConnectionTracker_ParallelAddRemoveOfTwoConnections_LiveOneAlwaysListed()
    {
        var tracker = new ConnectionTracker();
        for (var round = 0; round < 2000; round++)
        {
            tracker.Add("alice", "phone", "old");
            using var start = new Barrier(2);
            var remove = Task.Run(() => { start.SignalAndWait(); tracker.Remove("alice", "phone", "old"); });
            var add = Task.Run(() => { start.SignalAndWait(); tracker.Add("alice", "phone", "live"); });
            await Task.WhenAll(remove, add);
            Assert.Equal(["live"], tracker.ConnectionsOf("alice", "phone"));
            tracker.Remove("alice", "phone", "live");
            Assert.Empty(tracker.ConnectionsOf("alice", "phone"));
        }
    }

    [Fact]
    public void ConnectionTracker_DeviceWithSeveralConnections_ListsEachLiveOneUntilTheLastCloses()
    {
        var tracker = new ConnectionTracker();
        tracker.Add("alice", "phone", "a");
        tracker.Add("alice", "phone", "a");
        Assert.Equal(["a"], tracker.ConnectionsOf("alice", "phone"));
        tracker.Add("alice", "phone", "b");
        tracker.Add("alice", "phone", "c");
        tracker.Add("alice", "laptop", "d");
        tracker.Add("bob", "phone", "e");
        Assert.Equal(["a", "b", "c"], tracker.ConnectionsOf("alice", "phone").Order());
        tracker.Remove("alice", "phone", "b");
        Assert.Equal(["a", "c"], tracker.ConnectionsOf("alice", "phone").Order());
        tracker.Remove("alice", "phone", "a");
        Assert.Equal(["c"], tracker.ConnectionsOf("alice", "phone"));
        tracker.Remove("alice", "phone", "a"); // already gone: changes nothing
        tracker.Add("alice", "phone", "f");
        Assert.Equal(["c", "f"], tracker.ConnectionsOf("alice", "phone").Order());
        tracker.Remove("alice", "phone", "c");
        tracker.Remove("alice", "phone", "f");
        Assert.Empty(tracker.ConnectionsOf("alice", "phone"));
        Assert.Equal(["d"], tracker.ConnectionsOf("alice", "laptop"));
        Assert.Equal(["e"], tracker.ConnectionsOf("bob", "phone"));
        Assert.Equal(2, tracker.DeviceCount);
    }

    [Fact]
    public async Task ConnectionCalls_DisconnectWhileMethodCounts_MethodUndoesAndNothingLeaks()
    {
        var presence = new PresenceCounter(NullLogger<PresenceCounter>.Instance);
        var key = PresenceCounter.DeviceKey("alice", "phone", "call_1");
        var calls = new ConnectionCalls();
        var gone = 0;

        // Accept passed storage and marks the call; OnDisconnectedAsync runs before Accept counts it.
        Assert.True(calls.TryBegin("call_1"));
        foreach (var callId in calls.Close())
        {
            await presence.RemoveAsync(key, () => { gone++; return ValueTask.CompletedTask; });
        }
        await presence.AddAsync(key, onFirst: null);
        Assert.Equal(1, presence.CountOf(key));
        Assert.False(calls.Complete("call_1")); // the method sees the close and takes the normal remove path
        await presence.RemoveAsync(key, () => { gone++; return ValueTask.CompletedTask; });

        Assert.Equal(0, presence.CountOf(key));
        Assert.Equal(1, gone);
        Assert.False(calls.TryBegin("call_2")); // a closed connection counts nothing more
    }

    [Fact]
    public void ConnectionCalls_DisconnectAfterCount_CloseHandsBackTheCountedCallOnce()
    {
        var calls = new ConnectionCalls();
        Assert.True(calls.TryBegin("call_1"));
        Assert.False(calls.TryBegin("call_1"));
        Assert.True(calls.Complete("call_1"));
        Assert.True(calls.TryBegin("call_2")); // still pending at close: its method undoes it
        Assert.Equal(["call_1"], calls.Close());
        Assert.Empty(calls.Close());
        Assert.False(calls.Complete("call_2"));
    }

    [Fact]
    public async Task PresenceCounter_PreviousChangeStuckOnStorage_NextChangeGoesOnAfterTimeout()
    {
        var presence = new PresenceCounter(NullLogger<PresenceCounter>.Instance) { GateTimeout = TimeSpan.FromMilliseconds(100) };
        var key = PresenceCounter.CallerKey("call_1");
        var stuck = new TaskCompletionSource();
        var first = presence.AddAsync(key, () => new ValueTask(stuck.Task)).AsTask();
        var second = presence.AddAsync(key, onFirst: null).AsTask();
        await second.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(first.IsCompleted);
        Assert.Equal(2, presence.CountOf(key));
        stuck.SetResult();
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        await presence.RemoveAsync(key, () => ValueTask.CompletedTask);
        await presence.RemoveAsync(key, () => ValueTask.CompletedTask);
        Assert.Equal(0, presence.CountOf(key));
    }
}
