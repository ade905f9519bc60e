using System.Diagnostics;
using System.Globalization;

namespace QrCalling.LoadTest;

/// <summary>What Linux's /proc says about a server process: CPU time (utime + stime of /proc/PID/stat), resident memory
/// (VmRSS of /proc/PID/status), the open-files limit, and which process listens on a TCP port.</summary>
internal static class ProcFs
{
    /// <summary>Clock ticks per second of /proc/PID/stat, from <c>getconf CLK_TCK</c> (100 if that fails, which is
    /// what Linux uses on every common architecture).</summary>
    public static int ClockTicksPerSecond { get; } = ReadClockTicks();

    /// <summary>utime + stime of a process, in clock ticks.</summary>
    public static long CpuTicks(int pid)
    {
        // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, utime 14, stime 15.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>VmRSS of a process in KiB.</summary>
    public static long RssKilobytes(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Whether a .NET process runs Server GC: it then has threads named ".NET Server GC" (one per heap), which
    /// Workstation GC never starts.</summary>
    public static bool UsesServerGc(int pid)
    {
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).TrimEnd() == ".NET Server GC")
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }
        return false;
    }

    /// <summary>The soft "Max open files" limit of a process (long.MaxValue for unlimited).</summary>
    public static long OpenFilesLimit(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/limits").First(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return soft == "unlimited" ? long.MaxValue : long.Parse(soft, CultureInfo.InvariantCulture);
    }

    /// <summary>The process with a listening TCP socket (IPv4 or IPv6) on <paramref name="port"/>, or null: the socket
    /// inodes of /proc/net/tcp and tcp6 in state LISTEN, matched against the <c>socket:[inode]</c> links of
    /// /proc/*/fd.</summary>
    public static int? ListenerOf(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" }.Where(File.Exists))
        {
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
                var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = columns[1];
                if (columns[3] == "0A" && int.Parse(local[(local.IndexOf(':', StringComparison.Ordinal) + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add($"socket:[{columns[9]}]");
                }
            }
        }
        if (inodes.Count == 0)
        {
            return null;
        }
        foreach (var process in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(process), out var pid))
            {
                continue;
            }
            try
            {
                if (Directory.EnumerateFiles(Path.Combine(process, "fd")).Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target)))
                {
                    return pid;
                }
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                // A process that ended meanwhile, or one we may not inspect.
            }
        }
        return null;
    }

    private static int ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true })!;
            var text = getconf.StandardOutput.ReadToEnd();
            getconf.WaitForExit();
            return int.TryParse(text.Trim(), out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    }
}

/// <summary>Server CPU time spent by some processes between <see cref="Start"/> and <see cref="MicrosecondsPer"/>.</summary>
internal sealed class CpuMeter
{
    private readonly IReadOnlyList<int> _pids;
    private readonly long _startTicks;

    private CpuMeter(IReadOnlyList<int> pids)
    {
        _pids = pids;
        _startTicks = Ticks();
    }

    public static CpuMeter Start(IReadOnlyList<int> pids) => new(pids);

    /// <summary>CPU microseconds (user + system, all the processes together) per message since the start.</summary>
    public double MicrosecondsPer(int messages) => (Ticks() - _startTicks) * 1e6 / ProcFs.ClockTicksPerSecond / messages;

    private long Ticks() => _pids.Sum(ProcFs.CpuTicks);
}

/// <summary>The whole machine's busy CPU time, from the first line of /proc/stat (user, nice, system, irq, softirq and
/// steal of all CPUs, in clock ticks; idle and iowait left out).</summary>
internal static class MachineCpu
{
    public static long Busy()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture);
        return Field(1) + Field(2) + Field(3) + Field(6) + Field(7) + Field(8);
    }

    public static double Microseconds(long ticks) => ticks * 1e6 / ProcFs.ClockTicksPerSecond;
}
