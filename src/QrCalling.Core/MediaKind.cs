namespace QrCalling;

/// <summary>A kind of media a code accepts or a call uses. Wire names: <c>audio</c>, <c>video</c>, <c>chat</c>.</summary>
[Flags]
public enum MediaKind
{
    /// <summary>No media.</summary>
    None = 0,
    /// <summary>A voice call (<c>audio</c>).</summary>
    Audio = 1,
    /// <summary>A video call (<c>video</c>), which includes audio.</summary>
    Video = 2,
    /// <summary>An end-to-end encrypted text chat (<c>chat</c>).</summary>
    Chat = 4,
}

/// <summary>Conversions between <see cref="MediaKind"/> and its wire names.</summary>
public static class MediaKinds
{
    /// <summary>Every media kind.</summary>
    public const MediaKind All = MediaKind.Audio | MediaKind.Video | MediaKind.Chat;

    /// <summary>The wire name of a single media kind (<c>audio</c>, <c>video</c> or <c>chat</c>).</summary>
    public static string ToWireName(MediaKind kind) => kind switch
    {
        MediaKind.Audio => "audio",
        MediaKind.Video => "video",
        MediaKind.Chat => "chat",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not a single media kind."),
    };

    /// <summary>Parses one wire name, case-insensitively; returns false for anything else.</summary>
    public static bool TryParse(string? name, out MediaKind kind)
    {
        kind = name?.Trim().ToLowerInvariant() switch
        {
            "audio" => MediaKind.Audio,
            "video" => MediaKind.Video,
            "chat" => MediaKind.Chat,
            _ => MediaKind.None,
        };
        return kind != MediaKind.None;
    }

    /// <summary>The wire names of every kind in a set, in the order audio, video, chat.</summary>
    public static IReadOnlyList<string> ToWireNames(MediaKind set)
    {
        var names = new List<string>(3);
        foreach (var kind in new[] { MediaKind.Audio, MediaKind.Video, MediaKind.Chat })
        {
            if ((set & kind) != 0)
            {
                names.Add(ToWireName(kind));
            }
        }
        return names;
    }

    /// <summary>Parses a list of wire names into a set; false if any name is unknown or the list is empty.</summary>
    public static bool TryParseSet(IEnumerable<string?>? names, out MediaKind set)
    {
        set = MediaKind.None;
        if (names is null)
        {
            return false;
        }
        foreach (var name in names)
        {
            if (!TryParse(name, out var kind))
            {
                set = MediaKind.None;
                return false;
            }
            set |= kind;
        }
        return set != MediaKind.None;
    }
}
