using System.Collections.Concurrent;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using QrCalling;
using QrCalling.Calls;
using QrCalling.Codes;
using QrCalling.Storage;
using QrCalling.Transport;

namespace QrCalling.Benchmarks;

/// <summary>The hot paths of Core against a baseline of "hash 32 bytes with SHA-256 and look the hash up in a
/// ConcurrentDictionary", the least a scan must do. Run with or without a pepper (HMAC-SHA256 vs SHA-256).</summary>
[MemoryDiagnoser]
public class CoreBenchmarks
{
    private const int StoredCodes = 10_000;

    private readonly ConcurrentDictionary<byte[], object> _baselineIndex = new(ByteArrayComparer.Instance);
    private byte[] _baselineSecret = [];

    private ServiceProvider _provider = null!;
    private RecyclingStorage _issueStorage = null!;
    private CodeService _issuer = null!;
    private CodeResolver _resolver = null!;
    private string _payload = "";
    private CallSnapshot _ringing = null!;
    private CallCommand.Accept _accept = null!;
    private CallLimits _limits = null!;
    private DateTimeOffset _now;

    /// <summary>True: HMAC-SHA256 with a pepper (production); false: plain SHA-256.</summary>
    [Params(false, true)]
    public bool Peppered { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _baselineSecret = RandomNumberGenerator.GetBytes(32);
        for (var i = 0; i < StoredCodes; i++)
        {
            _baselineIndex[RandomNumberGenerator.GetBytes(32)] = new object();
        }
        _baselineIndex[SHA256.HashData(_baselineSecret)] = new object();

        // Scans: a store holding StoredCodes codes, scanning one with unlimited maxScans.
        _provider = BuildProvider(new InMemoryStorage());
        var codes = _provider.GetRequiredService<CodeService>();
        for (var i = 0; i < StoredCodes; i++)
        {
            _payload = codes.IssueAsync("owner", new CodeSpec { Label = "door" }, default).AsTask().GetAwaiter().GetResult().Value.Payload;
        }
        _resolver = _provider.GetRequiredService<CodeResolver>();

        // Issue: a store that starts afresh every 50 000 codes, so the run does not measure an ever-growing dictionary.
        _issueStorage = new RecyclingStorage(50_000);
        _issuer = BuildProvider(_issueStorage).GetRequiredService<CodeService>();

        // One state-machine step: accept a ringing call.
        _now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var call = new CallRecord
        {
            CallId = "call-1",
            CodeId = "c_1",
            OwnerId = "owner",
            CallerId = "caller-1",
            CalleeId = "callee-1",
            CallTokenHash = new byte[32],
            Label = "door",
            Media = MediaKind.Audio,
            CreatedAt = _now,
            RingExpiresAt = _now.AddSeconds(30),
            ExpiresAt = _now.AddHours(2),
        };
        _ringing = CallSnapshot.Of(call);
        _accept = new CallCommand.Accept(CallActor.OwnerDevice("owner", "device-1"));
        _limits = CallLimits.From(new QrCallingOptions());
    }

    [GlobalCleanup]
    public void Cleanup() => _provider.Dispose();

    [Benchmark(Baseline = true, Description = "Baseline: SHA-256(32 B) + dictionary lookup")]
    public bool Baseline() => _baselineIndex.TryGetValue(SHA256.HashData(_baselineSecret), out _);

    [Benchmark(Description = "Parse payload")]
    public bool Parse() => CodePayload.Parse(_payload).IsValid;

    [Benchmark(Description = "Scan preview (parse + resolve, countScan: false)")]
    public bool ScanPreview() => _resolver.ResolveAsync(_payload, countScan: false, default).GetAwaiter().GetResult().IsSuccess;

    [Benchmark(Description = "Scan counted (parse + resolve, countScan: true)")]
    public bool ScanCounted() => _resolver.ResolveAsync(_payload, countScan: true, default).GetAwaiter().GetResult().IsSuccess;

    [Benchmark(Description = "Issue code")]
    public bool IssueCode() => _issuer.IssueAsync("owner", new CodeSpec { Label = "door", MaxScans = 5 }, default).GetAwaiter().GetResult().IsSuccess;

    [Benchmark(Description = "State machine step (accept)")]
    public bool StateMachineAccept() => CallStateMachine.Apply(_ringing, _accept, _now, _limits).IsSuccess;

    private ServiceProvider BuildProvider(IStorage storage)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<ITransport, NullTransport>();
        services.AddQrCallingCore(o =>
        {
            if (Peppered)
            {
                o.Pepper = "benchmark-pepper-0123456789";
            }
        }).UseStorage(_ => storage);
        return services.BuildServiceProvider();
    }

    private sealed class NullTransport : ITransport
    {
        public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
        public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) => default;
    }

    /// <summary>In-memory storage whose code store is replaced by an empty one every <c>limit</c> creates.</summary>
    private sealed class RecyclingStorage(int limit) : IStorage
    {
        private readonly InMemoryStorage _inner = new();
        private readonly int _limit = limit;
        private int _created;
        private RecyclingCodeStore? _codes;

        public ICodeStore Codes => _codes ??= new RecyclingCodeStore(this);
        public ICallStore Calls => _inner.Calls;
        public IMailboxStore Mailbox => _inner.Mailbox;
        public IPushSubscriptionStore PushSubscriptions => _inner.PushSubscriptions;
        public IMessageStore Messages => _inner.Messages;
        public ICallerControlStore CallerControls => _inner.CallerControls;
        public IDeviceStore Devices => _inner.Devices;
        public IDelegateStore Delegates => _inner.Delegates;
        public IBackupStore Backups => _inner.Backups;
        public IRoomStore Rooms => _inner.Rooms;
        public ValueTask PingAsync(CancellationToken cancellationToken) => default;

        private sealed class RecyclingCodeStore(RecyclingStorage owner) : ICodeStore
        {
            private ICodeStore _store = new InMemoryStorage().Codes;

            public ValueTask CreateAsync(CodeRecord code, CancellationToken cancellationToken)
            {
                if (++owner._created % owner._limit == 0)
                {
                    _store = new InMemoryStorage().Codes;
                }
                return _store.CreateAsync(code, cancellationToken);
            }

            public ValueTask<CodeRecord?> FindByKeyAsync(byte[] keyHash, CancellationToken cancellationToken) => _store.FindByKeyAsync(keyHash, cancellationToken);
            public ValueTask<CodeRecord?> FindByIdAsync(string ownerId, string codeId, CancellationToken cancellationToken) => _store.FindByIdAsync(ownerId, codeId, cancellationToken);
            public IAsyncEnumerable<CodeRecord> ListByOwnerAsync(string ownerId, CancellationToken cancellationToken) => _store.ListByOwnerAsync(ownerId, cancellationToken);
            public ValueTask<CodeRecord?> TryCountScanAsync(byte[] keyHash, DateTimeOffset now, CancellationToken cancellationToken) => _store.TryCountScanAsync(keyHash, now, cancellationToken);
            public ValueTask<bool> RevokeAsync(string ownerId, string codeId, DateTimeOffset now, CancellationToken cancellationToken) => _store.RevokeAsync(ownerId, codeId, now, cancellationToken);
            public ValueTask<int> DeleteStaleAsync(DateTimeOffset cutoff, int maxCount, CancellationToken cancellationToken) => _store.DeleteStaleAsync(cutoff, maxCount, cancellationToken);
            public ValueTask<CodeRecord?> UpdateAsync(string ownerId, string codeId, string? label, MediaKind? media, CancellationToken cancellationToken) => _store.UpdateAsync(ownerId, codeId, label, media, cancellationToken);
            public ValueTask<bool> DeleteAsync(string ownerId, string codeId, CancellationToken cancellationToken) => _store.DeleteAsync(ownerId, codeId, cancellationToken);
            public ValueTask<CodeRecord?> SetPausedAsync(string ownerId, string codeId, DateTimeOffset? pausedAt, CancellationToken cancellationToken) => _store.SetPausedAsync(ownerId, codeId, pausedAt, cancellationToken);
        }
    }
}
