using System.Text;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using QrCalling.Calls;
using QrCalling.Messages;
using QrCalling.Storage;
using QrCalling.Testing;

namespace QrCalling.Core.Tests.Messages;

/// <summary>Whatever a caller writes, the server stores and logs none of it: for generated texts, a message sealed as the
/// web app seals it is stored and logged without the plaintext, and the owner's key opens it to the same text.</summary>
public sealed class MessagePropertyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    // Texts of 8 to 400 characters (shorter ones could turn up in base64 by chance): any characters, or words.
    private static Arbitrary<string> Texts() =>
        Gen.OneOf(
            ArbMap.Default.GeneratorFor<NonEmptyString>().Select(s => s.Get),
            Gen.Elements("lights", "are", "on", "🚗", "gate", "Straße", "  ", "\n", "\"quoted\"", "<b>", "🙂", "123").ArrayOf().Select(string.Concat))
        .Where(s => s.Length is >= 8 and <= 400)
        .ToArbitrary();

    [Property(MaxTest = 200)]
    public Property LeaveAsync_AnyText_StoredAndLoggedWithoutThePlaintext_OwnerOpensIt() =>
        Prop.ForAll(Texts(), text =>
        {
            var logs = new CapturingLoggerProvider();
            using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            var time = new FakeTimeProvider(T0);
            var storage = new InMemoryStorage();
            var messages = new MessageService(storage, Options.Create(new QrCallingOptions()), time, loggerFactory.CreateLogger<MessageService>());
            var call = EndedCall(storage);
            var (ownerKey, publicKey) = MessageCrypto.CreateOwnerKey();
            using (ownerKey)
            {
                Assert(messages.SetKeyAsync("alice", publicKey, default).AsTask().GetAwaiter().GetResult().IsSuccess);
                var (epk, iv, ciphertext) = MessageCrypto.Seal(publicKey, call.CallId, text);
                var left = messages.LeaveAsync(CallActor.Caller(call.CallId), call.CallId, new MessageSubmission(epk, iv, ciphertext), default)
                    .AsTask().GetAwaiter().GetResult();
                Assert(left.IsSuccess);

                var stored = storage.Messages.ListByOwnerAsync("alice", T0, 10, default).AsTask().GetAwaiter().GetResult().Single();
                var everything = JsonSerializer.Serialize(stored) + "\n" + string.Join("\n", stored.Label, stored.Iv, stored.Ciphertext,
                    stored.EphemeralPublicKey, stored.KeyId, stored.CallId) + "\n" + logs.AllText;
                var utf8 = Encoding.UTF8.GetBytes(text);
                var opened = MessageCrypto.Open(ownerKey, stored.CallId, stored.EphemeralPublicKey, stored.Iv, stored.Ciphertext);
                return !everything.Contains(text, StringComparison.Ordinal)
                    && !everything.Contains(Convert.ToBase64String(utf8).TrimEnd('='), StringComparison.Ordinal)
                    && !everything.Contains(System.Buffers.Text.Base64Url.EncodeToString(utf8), StringComparison.Ordinal)
                    && opened == Encoding.UTF8.GetString(utf8);
            }
        });

    private static CallRecord EndedCall(InMemoryStorage storage)
    {
        var call = new CallRecord
        {
            CallId = CallIds.NewCallId(),
            CodeId = "c_test",
            OwnerId = "alice",
            CallerId = CallIds.NewParticipantId(),
            CalleeId = CallIds.NewParticipantId(),
            CallTokenHash = Guid.NewGuid().ToByteArray(),
            Label = "Blue van",
            Media = MediaKind.Chat,
            CreatedAt = T0,
            RingExpiresAt = T0.AddSeconds(30),
            ExpiresAt = T0.AddHours(2),
        };
        storage.Calls.CreateAsync(call, default).AsTask().GetAwaiter().GetResult();
        return storage.Calls.TryEndAsync(call.CallId, CallState.Ringing, CallEndReason.Missed, T0, default).AsTask().GetAwaiter().GetResult()!;
    }

    private static void Assert(bool condition)
    {
        if (!condition)
        {
            throw new InvalidOperationException("A step of the message flow failed.");
        }
    }
}
