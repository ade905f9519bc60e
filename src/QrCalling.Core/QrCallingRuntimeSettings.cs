namespace QrCalling;

/// <summary>Settings an operator changes while the host runs (the sample host's admin console keeps them in its store),
/// read by QrCalling each time a call starts. They can only restrict what <see cref="QrCallingOptions"/> allows.</summary>
public sealed record QrCallingRuntimeSettings
{
    /// <summary>The settings when nothing was changed: no maintenance, the configured maximum call duration.</summary>
    public static QrCallingRuntimeSettings Default { get; } = new();

    /// <summary>True while the host is in maintenance mode: <c>POST /api/v1/calls</c> answers 503 with
    /// <see cref="QrCallingErrorCodes.Maintenance"/>; calls already running go on.</summary>
    public bool MaintenanceMode { get; init; }

    /// <summary>A shorter maximum duration for calls started from now on; null (or anything longer than
    /// <see cref="QrCallingOptions.MaxCallDuration"/>) means <see cref="QrCallingOptions.MaxCallDuration"/>.</summary>
    public TimeSpan? MaxCallDuration { get; init; }
}

/// <summary>Where QrCalling reads its <see cref="QrCallingRuntimeSettings"/> from. The default answers
/// <see cref="QrCallingRuntimeSettings.Default"/>; a host registers its own
/// (<c>QrCallingBuilder.UseRuntimeSettings</c>) to drive maintenance mode and the call duration at run time. It is
/// called once per call start, so an implementation should answer from memory (and refresh from its store).</summary>
public interface IQrCallingRuntimeSettings
{
    /// <summary>The settings in force now.</summary>
    ValueTask<QrCallingRuntimeSettings> GetAsync(CancellationToken cancellationToken);
}

/// <summary>The default: nothing changed at run time.</summary>
internal sealed class DefaultRuntimeSettings : IQrCallingRuntimeSettings
{
    public ValueTask<QrCallingRuntimeSettings> GetAsync(CancellationToken cancellationToken) => ValueTask.FromResult(QrCallingRuntimeSettings.Default);
}
