using System.Buffers.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using QrCalling.Hosting.Internal;
using QrCalling.Messages;

namespace QrCalling.Hosting.Http;

// Leave-a-message (additive to v1): the owner's key for messages, the caller's one message after an unanswered call,
// the owner's list and delete. The server sees ciphertext and public keys only.

/// <summary><c>PUT /message-key</c>: an uncompressed P-256 point, base64url.</summary>
internal sealed record MessageKeyRequest(string? PublicKey);

/// <summary>An owner's key for messages as the API shows it.</summary>
internal sealed record MessageKeyResponse(string PublicKey, string KeyId, DateTimeOffset UpdatedAt);

/// <summary>What the caller of an unanswered call needs to seal its message.</summary>
internal sealed record CallMessageKeyResponse(string PublicKey, string KeyId, int MaxCiphertextBytes, string HkdfInfo);

/// <summary><c>POST /calls/{callId}/message</c>.</summary>
internal sealed record LeaveMessageRequest(string? EphemeralPublicKey, string? Iv, string? Ciphertext, string? KeyId);

/// <summary>The caller's receipt: when the message was stored.</summary>
internal sealed record MessageLeftResponse(DateTimeOffset ReceivedAt);

/// <summary>One message in the owner's list: no caller data, only what decrypts it and where it came from.</summary>
internal sealed record MessageListItem(string Id, string CallId, string CodeId, string Label, DateTimeOffset ReceivedAt, DateTimeOffset ExpiresAt,
    string KeyId, string EphemeralPublicKey, string Iv, string Ciphertext);

/// <summary>The routes of leave-a-message.</summary>
internal static class MessageEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapPut("/message-key", SetKeyAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Owner, OpenApiDocs.ExampleMessageKey).Accepts<MessageKeyRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Register the owner's public key for messages")
            .WithDescription("Owner only. The device generates an ECDH P-256 key pair (the private key never leaves it) and registers the public key " +
                "as an uncompressed point (65 bytes) in base64url. Callers of unanswered calls seal their messages to it. Registering again " +
                "replaces the key: messages sealed to the old one stay readable only where its private key is.")
            .Produces<MessageKeyResponse>().Problems(400, 401, 413, 415, 429);
        api.MapGet("/message-key", GetKeyAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Owner).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The owner's registered key for messages")
            .WithDescription("Owner only. 404 not_found when no key is registered (callers cannot leave messages then).")
            .Produces<MessageKeyResponse>().Problems(401, 404, 429);
        api.MapGet("/calls/{callId}/message-key", GetCallKeyAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Participant).RequireRateLimiting(QrCallingEndpoints.ParticipantPolicy)
            .WithSummary("The key to seal a message after an unanswered call")
            .WithDescription("The caller (its call token as the bearer), after its call ended unanswered (missed, rejected or canceled) and within " +
                "the message window: the owner's public key, its id, the ciphertext cap and the HKDF info. Encrypt with ECDH (a fresh P-256 key) " +
                "then HKDF-SHA256 (salt: the call id in UTF-8, info: hkdfInfo) to an AES-256-GCM key, with the call id as associated data.")
            .Produces<CallMessageKeyResponse>().Problems(401, 403, 404, 409, 429);
        api.MapPost("/calls/{callId}/message", LeaveAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Participant, OpenApiDocs.ExampleMessage).Accepts<LeaveMessageRequest>("application/json").RequireRateLimiting(QrCallingEndpoints.ParticipantPolicy)
            .WithSummary("Leave one end-to-end encrypted message after an unanswered call")
            .WithDescription("The caller, once per call, within the message window: {ephemeralPublicKey, iv, ciphertext, keyId?}, all base64url. " +
                "The server stores ciphertext only, until the owner deletes it or it expires. 409 message_exists for a second message, " +
                "409 message_window_closed after the window, 404 messages_unavailable when the owner has no key, 429 inbox_full when the owner " +
                "holds the most messages allowed, 413 too_large over the ciphertext cap.")
            .Produces<MessageLeftResponse>(StatusCodes.Status201Created).Problems(400, 401, 403, 404, 409, 413, 415, 429);
        api.MapGet("/messages", ListAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Owner).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("The owner's messages")
            .WithDescription("Owner only. Unexpired messages, newest first (at most 200): the code's label, when it was received, and what the " +
                "owner's device needs to decrypt it. No caller data.")
            .Produces<IReadOnlyList<MessageListItem>>().Problems(401, 429);
        api.MapDelete("/messages/{id}", DeleteAsync).Documented(OpenApiDocs.MessagesTag, OperationAccess.Owner).RequireRateLimiting(QrCallingEndpoints.OwnerPolicy)
            .WithSummary("Delete a message after reading it")
            .WithDescription("Owner only: once the owner's device has decrypted and shown a message, it deletes it from the server. " +
                "404 not_found for an unknown, expired or another owner's message.")
            .Produces(StatusCodes.Status204NoContent).Problems(401, 404, 429);
    }

    private static async Task<IResult> SetKeyAsync(HttpContext http, MessageService messages, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var (body, error) = await RequestReader.ReadAsync<MessageKeyRequest>(http.Request, RequestReader.SmallBodyBytes, cancellationToken);
        if (error is not null)
        {
            return ApiResults.Problem(error);
        }
        var result = await messages.SetKeyAsync(owner, body!.PublicKey, cancellationToken);
        return result.IsSuccess
            ? ApiResults.Json(new MessageKeyResponse(result.Value.PublicKey, result.Value.KeyId, result.Value.UpdatedAt))
            : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> GetKeyAsync(HttpContext http, MessageService messages, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var key = await messages.GetKeyAsync(owner, cancellationToken);
        return key is null ? ApiResults.Problem(QrCallingError.NotFound) : ApiResults.Json(new MessageKeyResponse(key.PublicKey, key.KeyId, key.UpdatedAt));
    }

    private static async Task<IResult> GetCallKeyAsync(HttpContext http, string callId, MessageService messages, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        var (actor, error) = await participants.ResolveAsync(http, cancellationToken);
        if (actor is null)
        {
            return ApiResults.Problem(error!);
        }
        var result = await messages.GetKeyForCallAsync(actor, callId, cancellationToken);
        return result.IsSuccess
            ? ApiResults.Json(new CallMessageKeyResponse(result.Value.PublicKey, result.Value.KeyId, options.Value.MaxMessageCiphertextBytes, MessageService.HkdfInfo))
            : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> LeaveAsync(HttpContext http, string callId, MessageService messages, ParticipantResolver participants,
        IOptions<QrCallingOptions> options, CancellationToken cancellationToken)
    {
        var (actor, error) = await participants.ResolveAsync(http, cancellationToken);
        if (actor is null)
        {
            return ApiResults.Problem(error!);
        }
        var cap = Base64Url.GetEncodedLength(options.Value.MaxMessageCiphertextBytes) + 1024;
        var (body, readError) = await RequestReader.ReadAsync<LeaveMessageRequest>(http.Request, cap, cancellationToken);
        if (readError is not null)
        {
            return ApiResults.Problem(readError);
        }
        var result = await messages.LeaveAsync(actor, callId, new MessageSubmission(body!.EphemeralPublicKey, body.Iv, body.Ciphertext, body.KeyId), cancellationToken);
        return result.IsSuccess
            ? ApiResults.Json(new MessageLeftResponse(result.Value.CreatedAt), StatusCodes.Status201Created)
            : ApiResults.Problem(result.Error!);
    }

    private static async Task<IResult> ListAsync(HttpContext http, MessageService messages, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var list = new List<MessageListItem>();
        foreach (var m in await messages.ListAsync(owner, cancellationToken))
        {
            list.Add(new MessageListItem(m.MessageId, m.CallId, m.CodeId, m.Label, m.CreatedAt, m.ExpiresAt, m.KeyId, m.EphemeralPublicKey, m.Iv, m.Ciphertext));
        }
        return ApiResults.Json(list);
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, string id, MessageService messages, ParticipantResolver participants, CancellationToken cancellationToken)
    {
        if (participants.OwnerId(http.User) is not { } owner)
        {
            return ApiResults.OwnerUnauthorized();
        }
        var result = await messages.DeleteAsync(owner, id, cancellationToken);
        return result.IsSuccess ? Results.NoContent() : ApiResults.Problem(result.Error!);
    }
}
