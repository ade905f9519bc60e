using Microsoft.Extensions.DependencyInjection;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Core.Tests.Codes;

public sealed class CodeResolverTests
{
    private const string Owner = "owner-resolver";

    [Fact]
    public async Task StartAsync_MediaNotAllowed_DoesNotSpendAScanOfALimitedCode()
    {
        using var host = new CodeTestHost();
        var calls = host.Provider.GetRequiredService<CallService>();
        var single = await host.IssueAsync(Owner, new CodeSpec { Media = MediaKind.Audio, MaxScans = 1 });

        var video = await calls.StartAsync(single.Payload, MediaKind.Video, default);
        var audio = await calls.StartAsync(single.Payload, MediaKind.Audio, default);
        var again = await calls.StartAsync(single.Payload, MediaKind.Audio, default);

        Assert.Equal(QrCallingErrorCodes.InvalidRequest, video.Error?.Code);
        Assert.True(audio.IsSuccess);
        Assert.Same(QrCallingError.Unavailable, again.Error);
    }

    [Fact]
    public async Task StartAsync_UnavailableCodeWithWrongMedia_IsUnavailableNotInvalidRequest()
    {
        using var host = new CodeTestHost();
        var calls = host.Provider.GetRequiredService<CallService>();
        var code = await host.IssueAsync(Owner, new CodeSpec { Media = MediaKind.Audio });
        await host.Codes.RevokeAsync(Owner, code.Code.Id, default);

        Assert.Same(QrCallingError.Unavailable, (await calls.StartAsync(code.Payload, MediaKind.Video, default)).Error);
    }

    [Fact]
    public async Task ScanThenReachability_LooksTheCodeUpOnce_AndAsksThePresenceForItsOwner()
    {
        var storage = new CountingStorage();
        using var host = new CodeTestHost(null, storage);
        var code = await host.IssueAsync(Owner);
        var asked = new List<string>();
        var reachability = new CodeReachability(new AskedPresence(asked), Microsoft.Extensions.Options.Options.Create(new QrCallingOptions()));

        storage.Lookups = 0;
        var scanned = (await host.Codes.ScanAsync(code.Payload, default)).Value;
        var reachable = await reachability.OfScannedCodeAsync(scanned, default);

        Assert.Equal(1, storage.Lookups); // the preview's look-up serves the reachability too
        Assert.True(reachable);
        Assert.Equal([Owner], asked);
        var hidden = new CodeReachability(new AskedPresence(asked), Microsoft.Extensions.Options.Options.Create(new QrCallingOptions { ShowReachability = false }));
        Assert.Null(await hidden.OfScannedCodeAsync(scanned, default));
        Assert.Single(asked);
    }

    private sealed class AskedPresence(List<string> asked) : QrCalling.Transport.IOwnerPresence
    {
        public ValueTask<bool?> IsReachableAsync(string ownerId, CancellationToken cancellationToken)
        {
            asked.Add(ownerId);
            return ValueTask.FromResult<bool?>(true);
        }
    }

    [Fact]
    public async Task ResolveAsync_PreviousPeppers_UnavailableAndUnknownCodesCostTheSameLookups()
    {
        var storage = new CountingStorage();
        using var host = new CodeTestHost(o => { o.Pepper = "new-pepper-0123456789"; o.PreviousPeppers.Add("old-pepper-0123456789"); o.PreviousPeppers.Add("older-pepper-012345678"); }, storage);
        var revoked = await host.IssueAsync(Owner);
        await host.Codes.RevokeAsync(Owner, revoked.Code.Id, default);
        var unknown = CodePayload.Format(CodeToken.New());

        storage.Lookups = 0;
        Assert.Same(QrCallingError.Unavailable, (await host.Codes.ScanAsync(revoked.Payload, default)).Error);
        var forRevoked = storage.Lookups;
        storage.Lookups = 0;
        Assert.Same(QrCallingError.Unavailable, (await host.Codes.ScanAsync(unknown, default)).Error);
        var forUnknown = storage.Lookups;

        Assert.Equal(3, forUnknown);
        Assert.Equal(forUnknown, forRevoked);
    }

    [Fact]
    public async Task AuthenticateCallerAsync_PepperRotatedDuringTheCall_StillAdmitsTheCaller()
    {
        var storage = new InMemoryStorage();
        StartedCall started;
        using (var before = new CodeTestHost(o => o.Pepper = "old-pepper-0123456789", storage))
        {
            var code = await before.IssueAsync(Owner);
            started = (await before.Provider.GetRequiredService<CallService>().StartAsync(code.Payload, MediaKind.Audio, default)).Value;
        }

        using var rotated = new CodeTestHost(o => { o.Pepper = "new-pepper-0123456789"; o.PreviousPeppers.Add("old-pepper-0123456789"); }, storage);
        using var dropped = new CodeTestHost(o => o.Pepper = "new-pepper-0123456789", storage);
        var admitted = await rotated.Provider.GetRequiredService<CallService>().AuthenticateCallerAsync(started.CallToken, default);
        var refused = await dropped.Provider.GetRequiredService<CallService>().AuthenticateCallerAsync(started.CallToken, default);

        Assert.Equal(started.Call.CallId, admitted?.CallerCallId);
        Assert.Null(refused);
    }

    [Theory]
    [InlineData("call_\u0000")]
    [InlineData("call with spaces")]
    [InlineData("")]
    public async Task IdsThatCannotBeOurs_AreAnsweredLikeUnknownIds(string id)
    {
        using var host = new CodeTestHost();
        var calls = host.Provider.GetRequiredService<CallService>();
        var device = CallActor.OwnerDevice(Owner, "d1");
        var longId = new string('a', 101);

        foreach (var callId in new[] { id, longId })
        {
            Assert.Equal(QrCallingErrorCodes.NotParticipant, (await calls.GetAsync(device, callId, default)).Error?.Code);
            Assert.Equal(QrCallingErrorCodes.NotParticipant, (await calls.AcceptAsync(device, callId, default)).Error?.Code);
            Assert.Equal(QrCallingErrorCodes.NotParticipant, (await calls.ReadEventsAsync(device, callId, 0, TimeSpan.Zero, default)).Error?.Code);
            Assert.Same(QrCallingError.NotFound, (await host.Codes.RevokeAsync(Owner, callId, default)).Error);
            Assert.Same(QrCallingError.NotFound, (await host.Codes.RotateAsync(Owner, callId, default)).Error);
        }
    }

    [Fact]
    public async Task StartAsync_CodeRevokedBetweenScanAndCreate_IsUnavailableAndNeverRings()
    {
        var storage = new HookedCallsStorage();
        using var host = new CodeTestHost(storage: storage);
        var calls = host.Provider.GetRequiredService<CallService>();
        var code = await host.IssueAsync(Owner);
        storage.BeforeCreate = async () => await host.Codes.RevokeAsync(Owner, code.Code.Id, default);

        var started = await calls.StartAsync(code.Payload, MediaKind.Audio, default);

        Assert.Same(QrCallingError.Unavailable, started.Error);
        Assert.DoesNotContain(host.Transport.Sent, s => s.Event is Transport.IncomingCallEvent);
        var open = new List<CallRecord>();
        await foreach (var call in storage.Calls.ListOpenAsync(100, default))
        {
            open.Add(call);
        }
        Assert.Empty(open);
    }

    /// <summary>In-memory storage whose call store runs a hook before creating a call (to force an interleaving).</summary>
    private sealed class HookedCallsStorage : IStorage, ICallStore
    {
        private readonly InMemoryStorage _inner = new();

        public Func<Task>? BeforeCreate { get; set; }
        public ICodeStore Codes => _inner.Codes;
        public ICallStore Calls => this;
        public IMailboxStore Mailbox => _inner.Mailbox;
        public IPushSubscriptionStore PushSubscriptions => _inner.PushSubscriptions;
        public IMessageStore Messages => _inner.Messages;
        public ICallerControlStore CallerControls => _inner.CallerControls;
        public IDeviceStore Devices => _inner.Devices;
        public IDelegateStore Delegates => _inner.Delegates;
        public IBackupStore Backups => _inner.Backups;
        public IRoomStore Rooms => _inner.Rooms;
        public ValueTask PingAsync(CancellationToken cancellationToken) => _inner.PingAsync(cancellationToken);

        public async ValueTask CreateAsync(CallRecord call, CancellationToken cancellationToken)
        {
            if (BeforeCreate is { } hook)
            {
                BeforeCreate = null;
                await hook();
            }
            await _inner.Calls.CreateAsync(call, cancellationToken);
        }
        public ValueTask<CallRecord?> GetAsync(string callId, CancellationToken cancellationToken) => _inner.Calls.GetAsync(callId, cancellationToken);
        public ValueTask<CallRecord?> FindByTokenHashAsync(byte[] callTokenHash, CancellationToken cancellationToken) => _inner.Calls.FindByTokenHashAsync(callTokenHash, cancellationToken);
        public ValueTask<CallRecord?> TryAcceptAsync(string callId, string deviceId, DateTimeOffset now, CancellationToken cancellationToken) => _inner.Calls.TryAcceptAsync(callId, deviceId, now, cancellationToken);
        public ValueTask<CallRecord?> TryEndAsync(string callId, CallState expectedState, CallEndReason reason, DateTimeOffset now, CancellationToken cancellationToken) => _inner.Calls.TryEndAsync(callId, expectedState, reason, now, cancellationToken);
        public ValueTask SetPresenceAsync(string callId, CallSide side, DateTimeOffset? goneSince, CancellationToken cancellationToken) => _inner.Calls.SetPresenceAsync(callId, side, goneSince, cancellationToken);
        public IAsyncEnumerable<CallRecord> ListByOwnerAsync(string ownerId, int limit, DateTimeOffset? before, CancellationToken cancellationToken) => _inner.Calls.ListByOwnerAsync(ownerId, limit, before, cancellationToken);
        public IAsyncEnumerable<CallRecord> ListOpenAsync(int maxCount, CancellationToken cancellationToken) => _inner.Calls.ListOpenAsync(maxCount, cancellationToken);
        public IAsyncEnumerable<CallRecord> ListOpenByCodeAsync(string codeId, int maxCount, CancellationToken cancellationToken) => _inner.Calls.ListOpenByCodeAsync(codeId, maxCount, cancellationToken);
        public ValueTask<int> DeleteEndedBeforeAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => _inner.Calls.DeleteEndedBeforeAsync(cutoff, maxCount, cancellationToken);
    }

    /// <summary>In-memory storage that counts code look-ups by key.</summary>
    private sealed class CountingStorage : IStorage, ICodeStore
    {
        private readonly InMemoryStorage _inner = new();

        public int Lookups { get; set; }
        public ICodeStore Codes => this;
        public ICallStore Calls => _inner.Calls;
        public IMailboxStore Mailbox => _inner.Mailbox;
        public IPushSubscriptionStore PushSubscriptions => _inner.PushSubscriptions;
        public IMessageStore Messages => _inner.Messages;
        public ICallerControlStore CallerControls => _inner.CallerControls;
        public IDeviceStore Devices => _inner.Devices;
        public IDelegateStore Delegates => _inner.Delegates;
        public IBackupStore Backups => _inner.Backups;
        public IRoomStore Rooms => _inner.Rooms;
        public ValueTask PingAsync(CancellationToken cancellationToken) => _inner.PingAsync(cancellationToken);

        public ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken) => _inner.Codes.CreateAsync(code, cancellationToken);
        public ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken)
        {
            Lookups++;
            return _inner.Codes.FindByKeyAsync(keyHash, cancellationToken);
        }
        public ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken) => _inner.Codes.FindByIdAsync(ownerId, codeId, cancellationToken);
        public IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) => _inner.Codes.ListByOwnerAsync(ownerId, cancellationToken);
        public ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken) => _inner.Codes.TryCountScanAsync(keyHash, now, cancellationToken);
        public ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken) => _inner.Codes.RevokeAsync(ownerId, codeId, now, cancellationToken);
        public ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => _inner.Codes.DeleteStaleAsync(cutoff, maxCount, cancellationToken);
        public ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken) => _inner.Codes.UpdateAsync(ownerId, codeId, label, media, cancellationToken);
        public ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken) => _inner.Codes.DeleteAsync(ownerId, codeId, cancellationToken);
        public ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken) => _inner.Codes.SetPausedAsync(ownerId, codeId, pausedAt, cancellationToken);
    }
}
