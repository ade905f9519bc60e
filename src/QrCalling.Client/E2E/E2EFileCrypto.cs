using System.Buffers.Binary;
using System.Security.Cryptography;

namespace QrCalling.Client.E2E;

/// <summary>The chunk framing of Files v1 (docs/e2e.md section 9.1), one function each, so that the test vectors can
/// check every step: header (version 1, file id, index as a big-endian 32-bit number), nonce (8 zero bytes and the
/// index), AES-256-GCM under the per-file key with the header as associated data.</summary>
internal static class E2EFileCrypto
{
    public const byte Version = 1;
    public const int IdLength = 16;
    public const int KeyLength = 32;
    public const int HeaderLength = 1 + IdLength + 4;
    public const int TagLength = 16;
    public const string ControlPrefix = "\u0000qrcalling-file\u0000";

    /// <summary>The 21-byte header (and associated data) of chunk <paramref name="index"/>.</summary>
    public static byte[] Header(ReadOnlySpan<byte> fileId, uint index)
    {
        var header = new byte[HeaderLength];
        header[0] = Version;
        fileId.CopyTo(header.AsSpan(1, IdLength));
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(1 + IdLength), index);
        return header;
    }

    /// <summary>The 96-bit nonce of chunk <paramref name="index"/>.</summary>
    public static byte[] Nonce(uint index)
    {
        var nonce = new byte[12];
        BinaryPrimitives.WriteUInt32BigEndian(nonce.AsSpan(8), index);
        return nonce;
    }

    /// <summary>Number of chunks of a file (an empty file is one empty chunk).</summary>
    public static int ChunkCount(long size, int chunkBytes) => (int)Math.Max(1, (size + chunkBytes - 1) / chunkBytes);

    /// <summary>header ‖ ciphertext ‖ tag.</summary>
    public static byte[] SealChunk(byte[] key, ReadOnlySpan<byte> fileId, uint index, ReadOnlySpan<byte> plaintext)
    {
        var frame = new byte[HeaderLength + plaintext.Length + TagLength];
        var header = Header(fileId, index);
        header.CopyTo(frame, 0);
        using var aes = new AesGcm(key, TagLength);
        aes.Encrypt(Nonce(index), plaintext, frame.AsSpan(HeaderLength, plaintext.Length), frame.AsSpan(HeaderLength + plaintext.Length), header);
        return frame;
    }

    /// <summary>The file id and index of a chunk frame; <c>malformed</c> or <c>version</c> otherwise.</summary>
    public static (byte[] FileId, uint Index) ParseHeader(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < HeaderLength + TagLength)
        {
            throw new E2EProtocolException("malformed", "A file chunk is too short.");
        }
        if (frame[0] != Version)
        {
            throw new E2EProtocolException("version", "A file chunk of another version.");
        }
        return (frame.Slice(1, IdLength).ToArray(), BinaryPrimitives.ReadUInt32BigEndian(frame[(1 + IdLength)..]));
    }

    /// <summary>The plaintext of a chunk frame; <c>authentication</c> for a changed bit or another key.</summary>
    public static byte[] OpenChunk(byte[] key, ReadOnlySpan<byte> frame)
    {
        var (_, index) = ParseHeader(frame);
        var plaintext = new byte[frame.Length - HeaderLength - TagLength];
        using var aes = new AesGcm(key, TagLength);
        try
        {
            aes.Decrypt(Nonce(index), frame[HeaderLength..^TagLength], frame[^TagLength..], plaintext, frame[..HeaderLength]);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw new E2EProtocolException("authentication", "A file chunk was altered or is not under this file's key.");
        }
        return plaintext;
    }

    /// <summary>A file name safe to show and save: no folders, no control characters, at most 255 characters.</summary>
    public static string CleanName(string? name)
    {
        var text = name ?? "";
        var slash = text.LastIndexOfAny(['/', '\\']);
        var chars = text[(slash + 1)..].Where(c => c >= 0x20 && c != 0x7f).ToArray();
        var base_ = new string(chars).Trim();
        if (base_ is "" or "." or "..")
        {
            base_ = "file";
        }
        return base_.Length > 255 ? base_[..255] : base_;
    }
}
