using Xunit;
using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Codes;
using QrCalling.Storage;
using QrCalling.Testing;
using QrCalling.Transport;

namespace QrCalling.Core.Tests.Codes;

/// <summary>The core services built by <c>AddQrCallingCore</c> over in-memory storage, a <see cref="FakeTimeProvider"/>,
/// a capturing logger and a recording transport (Core has no real transport).</summary>
internal sealed class CodeTestHost : IDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    public CodeTestHost(Action<QrCallingOptions>? configure = null, IStorage? storage = null)
    {
        Storage = storage ?? new InMemoryStorage();
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        services.AddSingleton<TimeProvider>(Time);
        services.AddSingleton<ITransport>(Transport);
        services.AddQrCallingCore(configure).UseStorage(_ => Storage);
        Provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public FakeTimeProvider Time { get; } = new(Start);
    public CapturingLoggerProvider Logs { get; } = new();
    public RecordingTransport Transport { get; } = new();
    public IStorage Storage { get; }
    public ServiceProvider Provider { get; }
    public CodeService Codes => Provider.GetRequiredService<CodeService>();
    internal CodeResolver Resolver => Provider.GetRequiredService<CodeResolver>();

    public async Task<IssuedCode> IssueAsync(string owner, CodeSpec? spec = null)
    {
        var result = await Codes.IssueAsync(owner, spec ?? new CodeSpec(), default);
        Assert.True(result.IsSuccess, result.Error?.Detail);
        return result.Value;
    }

    public void Dispose() => Provider.Dispose();

    /// <summary>An <see cref="ITransport"/> that keeps what it was asked to deliver.</summary>
    internal sealed class RecordingTransport : ITransport
    {
        public ConcurrentQueue<(string To, ServerEvent Event)> Sent { get; } = new();

        public ValueTask SendToOwnerAsync(string ownerId, ServerEvent serverEvent, CancellationToken cancellationToken) => Record($"owner:{ownerId}", serverEvent);
        public ValueTask SendToOwnerExceptAsync(string ownerId, string exceptDeviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => Record($"owner:{ownerId}-{exceptDeviceId}", serverEvent);
        public ValueTask SendToDeviceAsync(string ownerId, string deviceId, ServerEvent serverEvent, CancellationToken cancellationToken) => Record($"device:{ownerId}/{deviceId}", serverEvent);
        public ValueTask SendToCallerAsync(string callId, ServerEvent serverEvent, CancellationToken cancellationToken) => Record($"caller:{callId}", serverEvent);

        private ValueTask Record(string to, ServerEvent serverEvent)
        {
            Sent.Enqueue((to, serverEvent));
            return ValueTask.CompletedTask;
        }
    }
}
