using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Messages;
using QrCalling.Storage;
using QrCalling.Testing;
using Xunit;

namespace QrCalling.Core.Tests.Messages;

public sealed class MessageServiceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, Action<QrCallingOptions>> BadOptions() => new()
    {
        { nameof(QrCallingOptions.MessageWindow), o => o.MessageWindow = TimeSpan.FromSeconds(1) },
        { nameof(QrCallingOptions.MessageRetention), o => o.MessageRetention = TimeSpan.Zero },
        { nameof(QrCallingOptions.MaxMessageCiphertextBytes), o => o.MaxMessageCiphertextBytes = 10 },
        { nameof(QrCallingOptions.MaxStoredMessagesPerOwner), o => o.MaxStoredMessagesPerOwner = 0 },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Options_BadMessageValue_FailsValidationNamingTheKey(string key, Action<QrCallingOptions> configure)
    {
        using var provider = new ServiceCollection().AddLogging().AddQrCallingCore(configure).Services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<QrCallingOptions>>().Value);

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SweepAsync_MessagesPastRetention_AreDeleted_OthersKept()
    {
        var time = new FakeTimeProvider(T0);
        var storage = new InMemoryStorage();
        var service = new MessageService(storage, Options.Create(new QrCallingOptions { MessageRetention = TimeSpan.FromDays(7) }), time,
            NullLogger<MessageService>.Instance);
        var (key, publicKey) = MessageCrypto.CreateOwnerKey();
        using var _ = key;
        Assert.True((await service.SetKeyAsync("alice", publicKey, default)).IsSuccess);
        var first = await LeaveAsync(storage, service, publicKey, time);
        time.Advance(TimeSpan.FromDays(1));
        var second = await LeaveAsync(storage, service, publicKey, time);

        time.Advance(TimeSpan.FromDays(6) + TimeSpan.FromSeconds(1));
        Assert.Equal([second], (await service.ListAsync("alice", default)).Select(m => m.MessageId));
        Assert.Equal(1, await service.SweepAsync(default));
        Assert.Equal(0, await service.SweepAsync(default));
        Assert.Equal(0, (await storage.Messages.ListByOwnerAsync("alice", DateTimeOffset.MinValue, 10, default)).Count(m => m.MessageId == first));
        Assert.Single(await storage.Messages.ListByOwnerAsync("alice", DateTimeOffset.MinValue, 10, default));
    }

    private static async Task<string> LeaveAsync(InMemoryStorage storage, MessageService service, string publicKey, FakeTimeProvider time)
    {
        var now = time.GetUtcNow();
        var call = new CallRecord
        {
            CallId = CallIds.NewCallId(), CodeId = "c_test", OwnerId = "alice", CallerId = CallIds.NewParticipantId(), CalleeId = CallIds.NewParticipantId(),
            CallTokenHash = Guid.NewGuid().ToByteArray(), Media = MediaKind.Chat, CreatedAt = now, RingExpiresAt = now.AddSeconds(30), ExpiresAt = now.AddHours(2),
        };
        await storage.Calls.CreateAsync(call, default);
        await storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Rejected, now, default);
        var (epk, iv, ciphertext) = MessageCrypto.Seal(publicKey, call.CallId, "hello there, owner");
        var left = await service.LeaveAsync(CallActor.Caller(call.CallId), call.CallId, new MessageSubmission(epk, iv, ciphertext), default);
        Assert.True(left.IsSuccess, left.Error?.Code);
        return left.Value.MessageId;
    }
}
