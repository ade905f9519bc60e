namespace QrCalling.Storage;

/// <summary>The embedded default: thread-safe in-memory storage, lost on restart; a single host instance only.
/// Expired and ended records are deleted by the sweep (<see cref="Calls.CallService.SweepAsync"/>).</summary>
public sealed partial class InMemoryStorage : IStorage
{
    private readonly InMemoryMailboxStore _mailbox;

    /// <summary>Creates an empty store.</summary>
    public InMemoryStorage()
    {
        _mailbox = new InMemoryMailboxStore();
        var codes = new InMemoryCodeStore();
        Codes = codes;
        CallerControls = new InMemoryCallerControlStore(codes);
        var calls = new InMemoryCallStore(_mailbox);
        Calls = calls;
        Delegates = new InMemoryDelegateStore(calls);
    }

    /// <inheritdoc />
    public ICodeStore Codes { get; }
    /// <inheritdoc />
    public ICallStore Calls { get; }
    /// <inheritdoc />
    public IMailboxStore Mailbox => _mailbox;
    /// <inheritdoc />
    public IPushSubscriptionStore PushSubscriptions { get; } = new InMemoryPushSubscriptionStore();
    /// <inheritdoc />
    public ValueTask PingAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    /// <inheritdoc />
    public ICallerControlStore CallerControls { get; }
    /// <inheritdoc />
    public IMessageStore Messages { get; } = new InMemoryMessageStore();
    /// <inheritdoc />
    public IDeviceStore Devices { get; } = new InMemoryDeviceStore();

    /// <inheritdoc />
    public IDelegateStore Delegates { get; }
    /// <inheritdoc />
    public IBackupStore Backups { get; } = new InMemoryBackupStore();
    /// <inheritdoc />
    public IRoomStore Rooms { get; } = new InMemoryRoomStore();
}
