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

internal sealed record RelayResult(double RelayPerSecond, Percentiles Relay);

internal sealed record LoadResult(int Calls, int Failures, double SetupsPerSecond, Percentiles Setup, double RelayPerSecond, Percentiles Relay);

/// <summary>The ICE-candidate-sized JSON the relay phases send; <c>t</c> is the sender's Stopwatch timestamp.</summary>
internal static class Message
{
    public const string Candidate = "candidate:842163049 1 udp 1677729535 127.0.0.1 54321 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag abcd network-cost 999";

    public static double MillisecondsSince(long timestamp) =>
        (System.Diagnostics.Stopwatch.GetTimestamp() - timestamp) * 1000.0 / System.Diagnostics.Stopwatch.Frequency;
}
