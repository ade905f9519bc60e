using System.Net;
using System.Reflection;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using QrCalling.Hosting.Hubs;
using QrCalling.Storage;
using Xunit;

namespace QrCalling.Hosting.Tests;

/// <summary>Ids and tokens from clients: malformed ids never reach the store, call tokens only where the spec puts them,
/// and unexpected failures become coded errors without details.</summary>
public sealed class InputValidationTests
{
    /// <summary>Route ids (URL-escaped) that are not ids: control characters, other characters outside [A-Za-z0-9_-], and
    /// ids longer than 100 characters. (A NUL, %00, never reaches an endpoint: ASP.NET Core refuses such a path itself.)</summary>
    private static readonly string[] MalformedRouteIds = ["%01", "call_%1F", "call_%0A", "call_%C3%A9", "call%20x", new('a', 101), new('a', 5000)];

    private static readonly string[] MalformedHubIds = ["\u0000", "call_\u0000", "call_é", "call x", "call_\n", new('a', 101), new('a', 10_000)];

    [Fact]
    public async Task HubMethods_MalformedCallId_GiveInvalidRequestBeforeTheStore()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");
        var started = await host.Client().StartCallAsync(payload, "chat");
        var caller = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: started.GetProperty("callToken").GetString());
        var data = JsonSerializer.SerializeToElement(new { sdp = "v=0" });

        foreach (var client in new[] { device, caller })
        {
            foreach (var id in MalformedHubIds)
            {
                foreach (var (method, args) in Invocations(id, data))
                {
                    var ex = await Assert.ThrowsAsync<HubException>(() => client.Connection.InvokeCoreAsync(method, typeof(object), args));
                    Assert.True(HubErrors.CodeOf(ex.Message) == "invalid_request", $"{method}({id.Length} chars): {ex.Message}");
                }
            }
            var unknown = await Assert.ThrowsAsync<HubException>(() => client.Connection.InvokeAsync<long>("Signal", "call_unknown", "offer", data));
            Assert.Equal("not_participant", HubErrors.CodeOf(unknown.Message));
            Assert.Equal(HubConnectionState.Connected, client.Connection.State);
        }
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains(PickyStorage.Secret, StringComparison.Ordinal));
    }

    private static IEnumerable<(string Method, object?[] Args)> Invocations(string callId, JsonElement data) =>
    [
        ("Accept", [callId]), ("Reject", [callId]), ("Hangup", [callId]), ("Typing", [callId, true]),
        ("Signal", [callId, "offer", data]), ("Chat", [callId, "Y2lwaGVy"]), ("Resume", [callId, 0L]),
    ];

    [Fact]
    public async Task HubMethod_UnexpectedFailure_GivesLoggedInternalErrorWithoutDetails()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");

        var ex = await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync("Accept", PickyStorage.ExplodingId));
        Assert.Equal("internal_error", HubErrors.CodeOf(ex.Message));
        Assert.DoesNotContain(PickyStorage.Secret, ex.Message);
        Assert.DoesNotContain("22021", ex.Message);
        Assert.Contains(host.Logs.Lines, l => l.Contains("Hub Accept failed unexpectedly", StringComparison.Ordinal));
        Assert.Equal(HubConnectionState.Connected, device.Connection.State);
    }

    /// <summary>A failure in a hub's clean-up reaches no client: the hubs' filters log it themselves (the sample quiets
    /// SignalR's own line for it) and let the disconnect finish; a cancellation goes on as it came.</summary>
    [Fact]
    public async Task HubFilters_FailedDisconnect_IsLoggedAndGoesNoFurther()
    {
        await using var host = await TestHost.StartAsync();
        IHubFilter[] filters = [host.App.Services.GetRequiredService<CallHubFilter>(), host.App.Services.GetRequiredService<RoomHubFilter>()];
        var context = new HubLifetimeContext(new BareCallerContext(), host.App.Services, new BareHub());

        foreach (var filter in filters)
        {
            await filter.OnDisconnectedAsync(context, null, (_, _) => throw new InvalidOperationException("clean-up broke " + PickyStorage.Secret));
            await Assert.ThrowsAsync<OperationCanceledException>(() => filter.OnDisconnectedAsync(context, null, (_, _) => throw new OperationCanceledException()));
            var passed = false;
            await filter.OnDisconnectedAsync(context, null, (_, _) => { passed = true; return Task.CompletedTask; });
            Assert.True(passed);

            var category = filter.GetType().FullName!;
            var line = Assert.Single(host.Logs.Lines, l => l.Contains(" " + category + ":", StringComparison.Ordinal));
            Assert.StartsWith($"Error {category}: Hub clean-up after a disconnect failed unexpectedly.", line, StringComparison.Ordinal);
            Assert.Contains("InvalidOperationException", line, StringComparison.Ordinal);
        }
    }

    private sealed class BareHub : Hub;

    private sealed class BareCallerContext : HubCallerContext
    {
        public override string ConnectionId => "connection";
        public override string? UserIdentifier => null;
        public override System.Security.Claims.ClaimsPrincipal? User => null;
        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();
        public override IFeatureCollection Features { get; } = new FeatureCollection();
        public override CancellationToken ConnectionAborted => CancellationToken.None;
        public override void Abort() { }
    }

    [Fact]
    public async Task RestRequest_UnexpectedStorageFailure_GivesLoggedInternalErrorWithoutDetails()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var response = await host.Client(owner: "alice").GetAsync($"/api/v1/calls/{PickyStorage.ExplodingId}");
        await response.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal_error");
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(PickyStorage.Secret, body);
        Assert.DoesNotContain("22021", body);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Contains(host.Logs.Lines, l => l.Contains("failed unexpectedly with InvalidOperationException", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Lines, l => l.Contains(PickyStorage.Secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HubAndRest_CancellationNotFromTheClient_GiveInternalError()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var device = await host.ConnectAsync(HttpTransportType.WebSockets, owner: "alice", deviceId: "phone");

        var ex = await Assert.ThrowsAsync<HubException>(() => device.Connection.InvokeAsync("Accept", PickyStorage.CancelingId));
        Assert.Equal("internal_error", HubErrors.CodeOf(ex.Message));
        Assert.DoesNotContain(PickyStorage.Secret, ex.Message);
        Assert.Equal(HubConnectionState.Connected, device.Connection.State);
        var response = await host.Client(owner: "alice").GetAsync($"/api/v1/calls/{PickyStorage.CancelingId}");
        await response.AssertProblemAsync(HttpStatusCode.InternalServerError, "internal_error");
    }

    [Fact]
    public async Task RestRouteIds_Malformed_AnsweredExactlyAsUnknownIds()
    {
        await using var host = await TestHost.StartAsync(configure: b => b.Services.AddSingleton<IStorage>(new PickyStorage()));
        var alice = host.Client(owner: "alice");
        var payload = (await alice.IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "chat");
        var caller = host.Client(bearer: started.GetProperty("callToken").GetString());
        var signal = new { type = "offer", data = new { sdp = "v=0" } };

        var requests = new Func<string, Task<HttpResponseMessage>>[]
        {
            id => caller.GetAsync($"/api/v1/calls/{id}"),
            id => caller.GetAsync($"/api/v1/calls/{id}/events?after=0"),
            id => caller.PostAsync($"/api/v1/calls/{id}/events", Http.Json(signal)),
            id => alice.GetAsync($"/api/v1/calls/{id}"),
            id => alice.GetAsync($"/api/v1/calls/{id}/events?deviceId=phone"),
            id => alice.PostAsync($"/api/v1/codes/{id}/revoke", null),
            id => alice.PostAsync($"/api/v1/codes/{id}/rotate", null),
            id => alice.SendAsync(new HttpRequestMessage(HttpMethod.Patch, $"/api/v1/codes/{id}") { Content = Http.Json(new { label = "x" }) }),
            id => alice.DeleteAsync($"/api/v1/codes/{id}"),
        };
        foreach (var send in requests)
        {
            var unknown = await RestTests.Describe(await send("call_unknown"));
            Assert.Matches("^40[34]\n", unknown);
            foreach (var id in MalformedRouteIds)
            {
                Assert.Equal(unknown, await RestTests.Describe(await send(id)));
            }
        }
        await (await alice.PostAsync("/api/v1/codes/%01/revoke", null)).AssertProblemAsync(HttpStatusCode.NotFound, "not_found");
        await (await caller.GetAsync("/api/v1/calls/call_%01")).AssertProblemAsync(HttpStatusCode.Forbidden, "not_participant");
    }

    [Fact]
    public async Task RestCallToken_InQueryString_IsRefusedWhileBearerAndHubQueryWork()
    {
        await using var host = await TestHost.StartAsync();
        var payload = (await host.Client(owner: "alice").IssueCodeAsync()).GetProperty("payload").GetString()!;
        var started = await host.Client().StartCallAsync(payload, "audio");
        var callId = started.GetProperty("callId").GetString()!;
        var token = started.GetProperty("callToken").GetString()!;
        var query = "access_token=" + Uri.EscapeDataString(token);

        foreach (var route in new[] { $"/api/v1/calls/{callId}?{query}", $"/api/v1/calls/{callId}/events?after=0&{query}", $"/api/v1/ice-servers?{query}" })
        {
            await (await host.Client().GetAsync(route)).AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
            Assert.Equal(HttpStatusCode.OK, (await host.Client(bearer: token).GetAsync(route)).StatusCode);
        }
        await (await host.Client().PostAsync($"/api/v1/calls/{callId}/events?{query}", Http.Json(new { type = "offer", data = new { sdp = "v=0" } })))
            .AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");

        // The hub still takes ?access_token= (browsers cannot send headers on WebSockets).
        var hub = await host.ConnectAsync(HttpTransportType.WebSockets, callToken: token);
        Assert.Equal(JsonValueKind.Array, (await hub.Connection.InvokeAsync<JsonElement>("Resume", callId, 0L)).ValueKind);
    }
}

/// <summary>The in-memory store, picky like a real database: text it cannot hold (a NUL, which PostgreSQL refuses in
/// text, any other control character, more than 1000 characters) makes it throw a raw driver-style exception; so does
/// the id <see cref="ExplodingId"/>, for an unexpected failure on a well-formed id; <see cref="UnavailableId"/> makes it
/// throw a storage outage.</summary>
internal sealed class PickyStorage : IStorage
{
    public const string Secret = "SECRET-DRIVER-DETAIL";
    public const string ExplodingId = "call_explode";
    public const string CancelingId = "call_cancel";
    public const string UnavailableId = "call_unavailable";

    private readonly InMemoryStorage _inner = new();

    public PickyStorage()
    {
        Codes = PickyProxy<ICodeStore>.Wrap(_inner.Codes);
        Calls = PickyProxy<ICallStore>.Wrap(_inner.Calls);
        Mailbox = PickyProxy<IMailboxStore>.Wrap(_inner.Mailbox);
        Rooms = PickyProxy<IRoomStore>.Wrap(_inner.Rooms);
    }

    public ICodeStore Codes { get; }
    public ICallStore Calls { get; }
    public IMailboxStore Mailbox { get; }
    public IPushSubscriptionStore PushSubscriptions => _inner.PushSubscriptions;
    public IMessageStore Messages => _inner.Messages;
    public ICallerControlStore CallerControls => _inner.CallerControls;
    public IDeviceStore Devices => _inner.Devices;
    public IDelegateStore Delegates => _inner.Delegates;
    public IBackupStore Backups => _inner.Backups;
    public IRoomStore Rooms { get; }

    public ValueTask PingAsync(CancellationToken cancellationToken) => _inner.PingAsync(cancellationToken);
}

public class PickyProxy<T> : DispatchProxy where T : class
{
    private T _target = null!;

    public static T Wrap(T target)
    {
        var proxy = Create<T, PickyProxy<T>>();
        ((PickyProxy<T>)(object)proxy)._target = target;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        foreach (var arg in args ?? [])
        {
            if (arg is string text && (text.Any(char.IsControl) || text.Length > 1000 || text == PickyStorage.ExplodingId))
            {
                throw new InvalidOperationException("22021: invalid byte sequence for encoding \"UTF8\": 0x00 " + PickyStorage.Secret);
            }
            if (arg is string id && id == PickyStorage.CancelingId)
            {
                throw new OperationCanceledException("driver timeout " + PickyStorage.Secret); // no caller's token was canceled
            }
            if (arg is string unavailable && unavailable == PickyStorage.UnavailableId)
            {
                throw new StorageUnavailableException("The storage backend is unavailable.", new TimeoutException(PickyStorage.Secret));
            }
        }
        try
        {
            return targetMethod!.Invoke(_target, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Throw(ex.InnerException);
            throw;
        }
    }
}
