using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using Lib.Net.Http.WebPush;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using QrCalling.Storage;

namespace QrCalling.Hosting.Internal;

/// <summary>An incoming call to push to an owner's subscriptions.</summary>
internal sealed record PushJob(string OwnerId, string CallId, string Label);

/// <summary>The bounded queue between the call path and <see cref="WebPushSender"/>: enqueuing never waits; a full queue
/// drops the push (logged), never the call.</summary>
internal sealed class WebPushQueue(IOptions<QrCallingPushOptions> options, ILogger<WebPushQueue> logger)
{
    private readonly Channel<PushJob> _channel = Channel.CreateBounded<PushJob>(new BoundedChannelOptions(options.Value.QueueCapacity)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    public ChannelReader<PushJob> Reader => _channel.Reader;

    public void Enqueue(PushJob job)
    {
        if (!_channel.Writer.TryWrite(job))
        {
            PushLog.QueueFull(logger);
        }
    }
}

/// <summary>Sends the queued pushes in the background: for each incoming call, an <c>aes128gcm</c> (RFC 8291) message
/// with a VAPID (RFC 8292) <c>Authorization</c> header to every subscription of the owner whose endpoint is allowed,
/// each with its own timeout. A push service answering 404 or 410 removes the subscription. The message holds
/// <c>{type: "incoming-call", callId, label}</c> only: nothing about the caller.</summary>
internal sealed class WebPushSender(WebPushQueue queue, IStorage storage, VapidKeys keys,
    IOptions<QrCallingPushOptions> options, IOptions<QrCallingOptions> coreOptions, TimeProvider time, ILogger<WebPushSender> logger)
    : BackgroundService
{
    // No redirects (a push service's redirect could point anywhere, past the allowed endpoints), no cookies, no proxy
    // surprises beyond the system's; one pool for every push.
    private readonly SocketsHttpHandler _handler = new()
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
    };

    /// <summary>The <c>type</c> of an incoming-call push message.</summary>
    public const string IncomingCallType = "incoming-call";

    private readonly PushEndpointPolicy _policy = new(options.Value.EffectiveAllowedEndpoints);
    private long _jobsDone;

    /// <summary>Incoming calls fully handled (every subscription tried), for tests that wait for the sender.</summary>
    internal long JobsDone => Interlocked.Read(ref _jobsDone);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(options.Value.MaxConcurrentSends);
        try
        {
            await foreach (var job in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                await slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await SendAsync(job, stoppingToken).ConfigureAwait(false);
                    }
                    finally
                    {
                        Interlocked.Increment(ref _jobsDone);
                        slots.Release();
                    }
                }, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(PushJob job, CancellationToken stoppingToken)
    {
        List<PushSubscriptionRecord> subscriptions = [];
        VapidKeyPair vapid;
        try
        {
            await foreach (var s in storage.PushSubscriptions.ListByOwnerAsync(job.OwnerId, stoppingToken).ConfigureAwait(false))
            {
                subscriptions.Add(s);
            }
            if (subscriptions.Count == 0)
            {
                return;
            }
            vapid = await keys.GetAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            PushLog.LookupFailed(logger, ex.GetType().Name);
            return;
        }
        var content = JsonSerializer.Serialize(new PushPayload(IncomingCallType, job.CallId, job.Label), PushJson.Options);
        await Task.WhenAll(subscriptions.Select(s => SendOneAsync(s, content, vapid, stoppingToken))).ConfigureAwait(false);
    }

    private async Task SendOneAsync(PushSubscriptionRecord subscription, string content, VapidKeyPair vapid, CancellationToken stoppingToken)
    {
        var service = PushEndpointPolicy.ServiceOf(subscription.Endpoint);
        if (!_policy.IsAllowed(subscription.Endpoint))
        {
            // Stored under an earlier configuration: not sent.
            PushLog.EndpointNotAllowed(logger, service);
            return;
        }
        using var timeout = new CancellationTokenSource(options.Value.SendTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, stoppingToken);
        try
        {
            using var authentication = new VapidAuthentication(vapid.PublicKey, vapid.PrivateKey) { Subject = options.Value.Subject };
            using var http = new HttpClient(new VapidAudienceHandler(authentication) { InnerHandler = _handler }, disposeHandler: false);
            var client = new PushServiceClient(http)
            {
                AutoRetryAfter = false,
                DefaultAuthenticationScheme = VapidAuthenticationScheme.Vapid,
            };
            var push = new PushSubscription { Endpoint = subscription.Endpoint };
            push.SetKey(PushEncryptionKeyName.P256DH, subscription.P256dh);
            push.SetKey(PushEncryptionKeyName.Auth, subscription.Auth);
            var message = new PushMessage(content)
            {
                Urgency = PushMessageUrgency.High,
                // Worth delivering only while the call can still be answered.
                TimeToLive = Math.Max(1, (int)Math.Ceiling(coreOptions.Value.RingTimeout.TotalSeconds)),
            };
            await client.RequestPushMessageDeliveryAsync(push, message, authentication, VapidAuthenticationScheme.Vapid, linked.Token).ConfigureAwait(false);
            PushLog.Sent(logger, service);
        }
        catch (PushServiceClientException ex) when (ex.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Gone)
        {
            PushLog.SubscriptionGone(logger, service, (int)ex.StatusCode);
            try
            {
                await storage.PushSubscriptions.DeleteAsync(subscription.OwnerId, subscription.Endpoint, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception deleteError)
            {
                PushLog.LookupFailed(logger, deleteError.GetType().Name);
            }
        }
        catch (PushServiceClientException ex)
        {
            PushLog.Refused(logger, service, (int)ex.StatusCode);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            PushLog.TimedOut(logger, service, options.Value.SendTimeout);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // The type only: an exception's message may hold the endpoint URL.
            PushLog.Failed(logger, service, ex.GetType().Name);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _handler.Dispose();
    }

    /// <summary>RFC 8292's <c>aud</c> is the endpoint's origin, port included; Lib.Net.Http.WebPush 3.3.1 leaves a
    /// non-default port out (the browsers' push services all use 443, so only such endpoints are re-signed here).</summary>
    private sealed class VapidAudienceHandler(VapidAuthentication authentication) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.RequestUri is { IsDefaultPort: false } uri)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("vapid",
                    authentication.GetVapidSchemeAuthenticationHeaderValueParameter(uri.GetLeftPart(UriPartial.Authority)));
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}

/// <summary>The plaintext of an incoming-call push (encrypted to the device): no caller data.</summary>
/// <param name="Type">Always <c>incoming-call</c>.</param>
/// <param name="CallId">The call to open on the owner page.</param>
/// <param name="Label">The code's label.</param>
internal sealed record PushPayload(string Type, string CallId, string Label);

internal static class PushJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}

/// <summary>The push path's log messages: the push service's scheme and host at most, never an endpoint's path (the
/// subscription's capability), a key, a token or the message.</summary>
internal static partial class PushLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "Push sent through {PushService}.")]
    public static partial void Sent(ILogger logger, string pushService);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Push service {PushService} answered {Status}: the subscription is gone and was removed.")]
    public static partial void SubscriptionGone(ILogger logger, string pushService, int status);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Push service {PushService} refused a push with {Status}.")]
    public static partial void Refused(ILogger logger, string pushService, int status);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "A push through {PushService} timed out after {Timeout}.")]
    public static partial void TimedOut(ILogger logger, string pushService, TimeSpan timeout);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "A push through {PushService} failed ({ErrorType}).")]
    public static partial void Failed(ILogger logger, string pushService, string errorType);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "The push queue is full; an incoming call was not pushed.")]
    public static partial void QueueFull(ILogger logger);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Warning, Message = "Reading push subscriptions or VAPID keys failed ({ErrorType}); the incoming call was not pushed.")]
    public static partial void LookupFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Information, Message = "A stored subscription's push service {PushService} is no longer allowed; not sent.")]
    public static partial void EndpointNotAllowed(ILogger logger, string pushService);
}
