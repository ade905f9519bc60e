using System.Diagnostics;
using System.Text;

namespace QrCalling.LoadTest;

/// <summary>Percentiles of a set of latencies in milliseconds.</summary>
internal sealed record Percentiles(int Count, double P50, double P99)
{
    public static Percentiles Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Percentiles(0, double.NaN, double.NaN);
        }
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
        return new Percentiles(sorted.Length, At(0.50), At(0.99));
    }
}

/// <summary>One relay server's figures for the offer/answer workload.</summary>
/// <param name="Server">Its name in the report.</param>
/// <param name="Seconds">How long the relay phase took.</param>
/// <param name="Latency">Send-to-receive latencies of every relayed message (its Count is the message count).</param>
/// <param name="CpuMicrosecondsPerMessage">Server CPU (user + system) per relayed message.</param>
/// <param name="Failures">Calls whose relay failed.</param>
internal sealed record RelayResult(string Server, double Seconds, Percentiles Latency, double CpuMicrosecondsPerMessage, int Failures)
{
    public double PerSecond => Latency.Count / Seconds;
}

/// <summary>The message the relay phases send and the clock they measure with.</summary>
internal static class Message
{
    /// <summary>An SDP-like text of about 2 KB (an audio+video offer's size), the <c>sdp</c> of every offer and answer.</summary>
    public static readonly string Sdp = FakeSdp();

    public static double MillisecondsSince(long timestamp) => Stopwatch.GetElapsedTime(timestamp).TotalMilliseconds;

    public static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static string FakeSdp()
    {
        var sdp = new StringBuilder("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n");
        sdp.Append("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n");
        sdp.Append("m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
        for (var i = 0; sdp.Length < 2048; i++)
        {
            sdp.Append(FormattableString.Invariant($"a=candidate:{842163049 + i} 1 udp 1677729535 127.0.0.1 {54321 + i} typ host generation 0 network-cost 999\r\n"));
        }
        return sdp.ToString();
    }
}
