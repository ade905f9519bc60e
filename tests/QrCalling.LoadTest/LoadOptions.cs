using System.Globalization;

namespace QrCalling.LoadTest;

/// <summary>The command line: <c>&lt;baseUrl&gt; [--option value]...</c> (see Program.cs's header).</summary>
internal sealed record LoadOptions(
    string Mode,
    Uri BaseUri,
    Uri CallerUri,
    int? HostPid,
    int Owners,
    int Signals,
    int Seconds,
    int DurationSeconds,
    int Connections,
    int InFlight,
    int Crowd,
    TimeSpan WarmUp,
    HubSettings Hub)
{
    public const string Usage = """
        usage: QrCalling.LoadTest <baseUrl, e.g. http://127.0.0.1:5090> [--mode relay|longcall|sustained|idle] [--host-pid PID] [--warmup-seconds 15]
          relay (default): [--owners 50] [--signals 200] [--caller-url URL] [--protocol json|messagepack] [--ack on|off] [--signal invoke|send]
                           [--crowd N: N idle owner connections held open on the host meanwhile]
          longcall:        [--duration-seconds 60] [--in-flight 16] [--protocol json|messagepack] [--ack on|off]
          sustained:       [--owners 20] [--seconds 20] [--caller-url URL] [--protocol json|messagepack] [--ack on|off]
          idle:            [--connections 10000]
        """;

    private static readonly string[] Known =
        ["--mode", "--host-pid", "--owners", "--signals", "--seconds", "--duration-seconds", "--connections", "--in-flight", "--caller-url", "--protocol", "--ack", "--signal", "--warmup-seconds", "--crowd"];

    /// <summary>Parses the arguments; throws <see cref="FormatException"/> with the reason when they are wrong.</summary>
    public static LoadOptions Parse(string[] args)
    {
        if (args.Length == 0 || !Uri.TryCreate(args[0], UriKind.Absolute, out var baseUri))
        {
            throw new FormatException("The first argument is the host's base URL.");
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i += 2)
        {
            if (!Known.Contains(args[i]) || i + 1 >= args.Length)
            {
                throw new FormatException($"Unknown option or missing value: {args[i]}");
            }
            values[args[i]] = args[i + 1];
        }

        string Choice(string name, params string[] allowed)
        {
            var value = values.GetValueOrDefault(name, allowed[0]);
            return allowed.Contains(value) ? value : throw new FormatException($"{name} is one of {string.Join(", ", allowed)}.");
        }
        int Number(string name, int fallback) =>
            !values.TryGetValue(name, out var text) ? fallback
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value
            : throw new FormatException($"{name} takes a positive whole number.");
        // 0 is allowed here: no warm-up beyond one unmeasured pass of the relay workload.
        int WarmUpSeconds() =>
            !values.TryGetValue("--warmup-seconds", out var text) ? 15
            : int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
            : throw new FormatException("--warmup-seconds takes a whole number (0 or more).");

        var callerUri = baseUri;
        if (values.TryGetValue("--caller-url", out var callerText) && !Uri.TryCreate(callerText, UriKind.Absolute, out callerUri))
        {
            throw new FormatException("--caller-url takes a URL, e.g. http://127.0.0.1:5091");
        }
        if (!baseUri.IsLoopback || !callerUri!.IsLoopback)
        {
            throw new FormatException("The load tool only targets loopback hosts (127.0.0.0/8, ::1, localhost).");
        }
        var mode = Choice("--mode", "relay", "longcall", "sustained", "idle");
        return new LoadOptions(
            mode,
            baseUri,
            callerUri,
            values.ContainsKey("--host-pid") ? Number("--host-pid", 0) : null,
            Number("--owners", mode == "sustained" ? 20 : 50),
            Number("--signals", 200),
            Number("--seconds", 20),
            Number("--duration-seconds", 60),
            Number("--connections", 10_000),
            Number("--in-flight", 16),
            values.ContainsKey("--crowd") ? Number("--crowd", 0) : 0,
            TimeSpan.FromSeconds(WarmUpSeconds()),
            new HubSettings(Choice("--protocol", "json", "messagepack") == "messagepack", Choice("--ack", "on", "off") == "on",
                Choice("--signal", "invoke", "send") == "send"));
    }
}
