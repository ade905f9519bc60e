using Microsoft.AspNetCore.Http.Connections.Client;

namespace QrCalling.Client;

/// <summary>Where the QrCalling host is and how to talk to it. Used by <see cref="QrCallingOwnerClient"/> and
/// <see cref="QrCallingCallerClient"/>.</summary>
public sealed class QrCallingClientOptions
{
    /// <summary>The host's base address, e.g. <c>https://call.example.org/</c>. Required unless the
    /// <see cref="HttpClient"/> given to a client has a <see cref="HttpClient.BaseAddress"/>.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>The REST prefix (the host's <c>RoutePrefix</c>): <c>/api/v1</c> by default.</summary>
    public string ApiPrefix { get; set; } = "/api/v1";

    /// <summary>The hub path (the host's <c>HubPath</c>): <c>/hubs/calls</c> by default.</summary>
    public string HubPath { get; set; } = "/hubs/calls";

    /// <summary>The hub protocol: <see cref="QrCallingHubProtocol.Json"/> (default) or
    /// <see cref="QrCallingHubProtocol.MessagePack"/> (the host must enable it).</summary>
    public QrCallingHubProtocol HubProtocol { get; set; } = QrCallingHubProtocol.Json;

    /// <summary>The owner's access token (the host's own authentication, e.g. a JWT), asked for before every owner
    /// request and every hub (re)connect; not needed by callers. The token is sent as <c>Authorization: Bearer</c>
    /// only; the hub is opened with a single-use hub ticket, so the token never appears in a URL.</summary>
    public Func<CancellationToken, ValueTask<string>>? OwnerAccessToken { get; set; }

    /// <summary>How long to wait between reconnect attempts of a dropped hub connection; the last delay repeats until
    /// <see cref="ReconnectTimeout"/> has passed. Default 0, 1, 2 and then 5 seconds.</summary>
    public IReadOnlyList<TimeSpan> ReconnectDelays { get; set; } = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)];

    /// <summary>How long a dropped hub connection keeps trying to reconnect before it closes for good (default 2
    /// minutes; the host ends a call whose side stays away longer than its reconnect grace, 30 s by default).</summary>
    public TimeSpan ReconnectTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Received signals and chats are acknowledged after this many (default 16) or
    /// <see cref="AckDelay"/> after the last one, whichever comes first.</summary>
    public int AckEvery { get; set; } = 16;

    /// <summary>See <see cref="AckEvery"/>; default 250 ms.</summary>
    public TimeSpan AckDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a signal or chat refused with <c>mailbox_full</c> (the other side has not caught up) is sent
    /// again, <see cref="MailboxFullRetryDelay"/> apart, before the refusal reaches the caller of the method (default 20).</summary>
    public int MailboxFullRetries { get; set; } = 20;

    /// <summary>See <see cref="MailboxFullRetries"/>; default 250 ms.</summary>
    public TimeSpan MailboxFullRetryDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Changes SignalR's connection options of every hub connection (proxies, handlers, headers, transports).
    /// By default a hub connection uses WebSockets without the negotiate request.</summary>
    public Action<HttpConnectionOptions>? ConfigureHubConnection { get; set; }

    internal void Validate()
    {
        if (ApiPrefix is null || !ApiPrefix.StartsWith('/'))
        {
            throw new ArgumentException($"{nameof(QrCallingClientOptions)}.{nameof(ApiPrefix)} must start with '/'.");
        }
        if (HubPath is null || !HubPath.StartsWith('/'))
        {
            throw new ArgumentException($"{nameof(QrCallingClientOptions)}.{nameof(HubPath)} must start with '/'.");
        }
        if (ReconnectDelays is null || ReconnectDelays.Count == 0 || ReconnectDelays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentException($"{nameof(QrCallingClientOptions)}.{nameof(ReconnectDelays)} must hold at least one delay, none negative.");
        }
        if (AckEvery < 1)
        {
            throw new ArgumentException($"{nameof(QrCallingClientOptions)}.{nameof(AckEvery)} must be 1 or more.");
        }
        if (MailboxFullRetries < 0)
        {
            throw new ArgumentException($"{nameof(QrCallingClientOptions)}.{nameof(MailboxFullRetries)} must be 0 or more.");
        }
    }
}

/// <summary>The SignalR hub protocol a client speaks.</summary>
public enum QrCallingHubProtocol
{
    /// <summary>SignalR's JSON protocol (every host speaks it).</summary>
    Json = 0,

    /// <summary>SignalR's MessagePack protocol (the host must enable it: <c>QrCalling:EnableMessagePack</c>).</summary>
    MessagePack = 1,
}
