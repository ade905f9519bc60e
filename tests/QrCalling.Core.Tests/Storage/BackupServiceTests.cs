using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Devices;
using QrCalling.Diagnostics;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Core.Tests.Storage;

public sealed class BackupServiceTests
{
    /// <summary>A body that breaks off after some bytes, as a dropped upload does.</summary>
    private sealed class BrokenStream(int bytesBeforeFailure) : Stream
    {
        private int _left = bytesBeforeFailure;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw new IOException("The connection was reset.");
            }
            var n = Math.Min(count, Math.Min(_left, 1000));
            _left -= n;
            return n;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static (BackupService Service, InMemoryStorage Storage, FakeTimeProvider Time) Create(Action<QrCallingOptions>? configure = null)
    {
        var options = new QrCallingOptions();
        configure?.Invoke(options);
        var storage = new InMemoryStorage();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var service = new BackupService(storage, Options.Create(options), time, NullLogger<BackupService>.Instance,
            new QrCallingMetrics(new TestMeterFactory()));
        return (service, storage, time);
    }

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);
        public void Dispose() { }
    }

    [Fact]
    public async Task Upload_CutOffMidway_StoresNothing()
    {
        var (service, storage, _) = Create();

        await Assert.ThrowsAsync<IOException>(async () => await service.UploadAsync("alice", new BrokenStream(5000), 10_000, default));

        Assert.Empty(await service.ListAsync("alice", default));
        Assert.Null(await storage.Backups.GetAsync("alice", null, DateTimeOffset.MinValue, default));
    }

    [Fact]
    public async Task Upload_PastTheCapWhileReading_IsBackupTooLarge_AndStoresNothing()
    {
        var (service, _, _) = Create(o => o.MaxBackupBytes = 2048);

        var result = await service.UploadAsync("alice", new MemoryStream(new byte[2049]), declaredLength: null, default);

        Assert.Equal(QrCallingErrorCodes.BackupTooLarge, result.Error?.Code);
        Assert.Empty(await service.ListAsync("alice", default));
    }

    [Fact]
    public async Task Retention_VersionsPastItAreNotRead_AndTheSweepDeletesThem()
    {
        var (service, storage, time) = Create(o => o.BackupRetention = TimeSpan.FromDays(1));
        Assert.True((await service.UploadAsync("alice", new MemoryStream([1, 2, 3]), 3, default)).IsSuccess);

        time.Advance(TimeSpan.FromDays(1) + TimeSpan.FromSeconds(1));

        Assert.Empty(await service.ListAsync("alice", default)); // not read past its TTL
        Assert.Equal(1, await storage.Backups.DeleteExpiredAsync(time.GetUtcNow(), 100, default));
        Assert.Null(await service.GetAsync("alice", null, default));
    }
}
