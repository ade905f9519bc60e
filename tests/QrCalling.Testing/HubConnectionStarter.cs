using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace QrCalling.Testing;

/// <summary>Starts a test's hub connection to <c>/hubs/calls</c> and waits until the server has admitted it.</summary>
public static class HubConnectionStarter
{
    /// <summary>Starts <paramref name="connection"/>. The handshake completes before the server's <c>OnConnectedAsync</c>
    /// has joined the connection's groups; any invocation runs after it, so with <paramref name="probe"/> one refused
    /// <c>Resume</c> makes the connection ready to receive its events. A connection the server refuses in
    /// <c>OnConnectedAsync</c> fails with the server's reason, whether its close reached the client before the probe
    /// went out or while it was on its way.</summary>
    public static async Task StartAsync(HubConnection connection, bool probe = true)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        await connection.StartAsync();
        if (!probe)
        {
            return;
        }
        try
        {
            await connection.InvokeAsync<JsonElement>("Resume", "", 0L);
        }
        catch (HubException ex) when (ex.Message.StartsWith("An unexpected error occurred invoking 'Resume'", StringComparison.Ordinal)
                                      && (ex.Message.Contains("HubException: invalid_request: ", StringComparison.Ordinal)
                                          || ex.Message.Contains("HubException: rate_limited: ", StringComparison.Ordinal)))
        {
            // The method refused the probe: the connection is up.
        }
        catch (Exception ex)
        {
            // Refused in OnConnectedAsync: the close (with the server's reason) comes with or soon after the failure.
            // Anything else failed the probe for its own reason: let that through rather than a timeout.
            if (await Task.WhenAny(closed.Task, Task.Delay(TimeSpan.FromSeconds(10))) != closed.Task)
            {
                throw;
            }
            throw new InvalidOperationException("The server closed the connection: " + closed.Task.Result?.Message, ex);
        }
    }
}
