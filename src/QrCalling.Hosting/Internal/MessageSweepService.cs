using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Messages;

namespace QrCalling.Hosting.Internal;

/// <summary>Deletes messages past <see cref="QrCallingOptions.MessageRetention"/> every
/// <see cref="QrCallingOptions.SweepInterval"/>, in batches of <see cref="QrCallingOptions.SweepBatchSize"/> (reads already
/// skip expired ones).</summary>
internal sealed class MessageSweepService(MessageService messages, IOptions<QrCallingOptions> options, TimeProvider timeProvider,
    ILogger<MessageSweepService> logger, QrCalling.Codes.CallerControlService callerControls) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await messages.SweepAsync(stoppingToken);
                    await callerControls.SweepAsync(stoppingToken); // caller records (for "block this caller") past the call history
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Log.MessageSweepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
