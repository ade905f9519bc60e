using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using QrCalling;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Keeps QrCalling's pepper in a file of its own when none is configured, so durable storage is never used with
/// the plain-SHA-256 fallback and a stolen database alone cannot link a sticker to its owner (the pepper is not in it).</summary>
public static class QrCallingSecretFileExtensions
{
    /// <summary>Uses the pepper kept in <paramref name="path"/> when <see cref="QrCallingOptions.Pepper"/> is not set:
    /// read it if the file exists, otherwise create it with 32 random bytes (base64url), readable by the owner of the
    /// process only. Keep the file out of the database's backups and give every host instance the same one (or
    /// configure <c>QrCalling:Pepper</c> on all of them). A configured pepper always wins.</summary>
    /// <param name="builder">The QrCalling builder.</param>
    /// <param name="path">The file, e.g. <c>/var/lib/myapp/keys/qrcalling-pepper</c>.</param>
    public static QrCallingBuilder UsePepperFile(this QrCallingBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(path);
        builder.Services.AddSingleton<IPostConfigureOptions<QrCallingOptions>>(new PepperFromFile(path));
        return builder;
    }

    /// <summary>The secret kept in <paramref name="path"/>: read when the file exists, otherwise created with
    /// <paramref name="bytes"/> random bytes (base64url) and permissions for its owner only. Of two processes creating
    /// it at once, both end up with the one that was written first.</summary>
    /// <param name="path">The file.</param>
    /// <param name="bytes">How many random bytes a new secret has (at least 16).</param>
    public static string LoadOrCreateSecret(string path, int bytes = 32)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 16);
        if (File.Exists(path))
        {
            return ReadSecret(path);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var secret = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));
        try
        {
            // CreateNew is atomic (O_EXCL): exactly one racing process creates the file.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using var stream = new FileStream(path, options);
            using var writer = new StreamWriter(stream);
            writer.Write(secret);
            return secret;
        }
        catch (IOException) when (File.Exists(path))
        {
            return ReadSecret(path); // another process created it first
        }
    }

    /// <summary>Reads a secret file. A process racing to create it may still hold it (locked) or not have written it yet
    /// (empty): both are retried for up to two seconds before the file counts as unreadable or too short.</summary>
    private static string ReadSecret(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            string secret;
            try
            {
                secret = File.ReadAllText(path).Trim();
            }
            catch (IOException) when (attempt < 100)
            {
                Thread.Sleep(20);
                continue;
            }
            if (secret.Length >= 16)
            {
                return secret;
            }
            if (attempt >= 100)
            {
                throw new InvalidOperationException($"The secret file '{path}' holds fewer than 16 characters; delete it to have a new one made.");
            }
            Thread.Sleep(20);
        }
    }

    private sealed class PepperFromFile(string path) : IPostConfigureOptions<QrCallingOptions>
    {
        public void PostConfigure(string? name, QrCallingOptions options)
        {
            if (string.IsNullOrEmpty(options.Pepper))
            {
                options.Pepper = LoadOrCreateSecret(path);
            }
        }
    }
}
