using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;

namespace QrCalling.Browser.Tests;

/// <summary>A hub filter that records every invocation the host received (method name and its arguments as JSON), so a
/// test can assert what the server saw: e.g. that it only ever got ciphertext.</summary>
internal sealed class RecordHubInvocations(ConcurrentQueue<(string Method, string Arguments)> received) : IHubFilter
{
    public ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        received.Enqueue((invocationContext.HubMethodName, JsonSerializer.Serialize(invocationContext.HubMethodArguments)));
        return next(invocationContext);
    }
}
