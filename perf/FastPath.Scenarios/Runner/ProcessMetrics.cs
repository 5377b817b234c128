// CPU time and resident memory of a process tree from /proc, so a proxy is charged for all its threads and
// for its worker processes (nginx's worker is a child of the master; the master's stat alone shows ~0).

using System.Diagnostics;
using System.Globalization;

namespace FastPath.Scenarios.Runner;

internal static class ProcessMetrics
{
    private static readonly Lazy<double> TicksPerSecond = new(ReadClockTicks);

    /// <summary>utime + stime in seconds over ROOT and its live descendants. The process line already sums its
    /// threads, including threads that have exited.</summary>
    public static double CpuSeconds(int root)
    {
        long ticks = 0;
        foreach (var pid in Tree(root))
        {
            if (TryReadStat(pid, out _, out var utime, out var stime))
            {
                ticks += utime + stime;
            }
        }

        return ticks / TicksPerSecond.Value;
    }

    /// <summary>VmRSS summed over the tree, in MiB. Shared pages count once per process, as `ps` would show.</summary>
    public static double RssMegabytes(int root)
    {
        long kilobytes = 0;
        foreach (var pid in Tree(root))
        {
            try
            {
                foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                {
                    if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    {
                        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                        kilobytes += long.Parse(parts[1], CultureInfo.InvariantCulture);
                        break;
                    }
                }
            }
            catch (IOException)
            {
                // The process ended between the scan and the read.
            }
        }

        return kilobytes / 1024.0;
    }

    /// <summary>ROOT followed by its descendants, breadth first, from one scan of /proc.</summary>
    public static List<int> Tree(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && TryReadStat(pid, out var parent, out _, out _))
            {
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
        }

        var tree = new List<int> { root };
        for (var i = 0; i < tree.Count; i++)
        {
            if (children.TryGetValue(tree[i], out var list))
            {
                tree.AddRange(list);
            }
        }

        return tree;
    }

    /// <summary>True while PID exists and is not a zombie waiting to be reaped.</summary>
    public static bool IsAlive(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            var close = text.LastIndexOf(')');
            return close >= 0 && close + 2 < text.Length && text[close + 2] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static bool TryReadStat(int pid, out int parent, out long utime, out long stime)
    {
        parent = 0;
        utime = 0;
        stime = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        // proc(5): "pid (comm) state ppid ... utime stime"; comm may hold spaces and ')', so fields are
        // counted from the last ')'. After it: [0]=state [1]=ppid ... [11]=utime [12]=stime.
        var close = text.LastIndexOf(')');
        if (close < 0)
        {
            return false;
        }

        var fields = text[(close + 2)..].Split(' ');
        return fields.Length > 12
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out parent)
            && long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out utime)
            && long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out stime);
    }

    private static double ReadClockTicks()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false });
            if (getconf is not null && getconf.WaitForExit(TimeSpan.FromSeconds(5))
                && double.TryParse(getconf.StandardOutput.ReadToEnd().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ticks)
                && ticks > 0)
            {
                return ticks;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // No getconf: fall through to the Linux default.
        }

        return 100;
    }
}
