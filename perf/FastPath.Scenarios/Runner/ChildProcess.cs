// Every process the runner starts goes through here, so one registry can kill them all on any exit path
// (normal end, exception, Ctrl-C, SIGTERM) and no origin or proxy outlives a run holding its core.

using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace FastPath.Scenarios.Runner;

internal sealed partial class ChildProcess
{
    private const int TailLines = 40;
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private static readonly TimeSpan TermWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);
    private static readonly ConcurrentDictionary<int, ChildProcess> Live = new();

    private readonly Process _process;
    private readonly Queue<string> _tail = new();
    private readonly StringBuilder? _stdout;
    private readonly Task _readers;

    private ChildProcess(string name, Process process, bool keepStdout)
    {
        Name = name;
        _process = process;
        _stdout = keepStdout ? new StringBuilder() : null;
        Id = process.Id;
        // Pipes are always drained: a proxy that logs would otherwise block on a full pipe mid-run.
        _readers = Task.WhenAll(
            Task.Run(() => PumpAsync(process.StandardOutput, _stdout)),
            Task.Run(() => PumpAsync(process.StandardError, null)));
    }

    public string Name { get; }

    public int Id { get; }

    public bool HasExited => _process.HasExited;

    public string CommandLine { get; private init; } = "";

    /// <summary>Starts COMMAND under `taskset -c CORE`; taskset execs, so the pid is the command's own.</summary>
    public static ChildProcess StartPinned(
        string name, int core, string command, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, bool keepStdout = false)
    {
        var pinned = new List<string>(args.Count + 3) { "-c", core.ToString(CultureInfo.InvariantCulture), command };
        pinned.AddRange(args);
        return Start(name, "taskset", pinned, environment, keepStdout);
    }

    public static ChildProcess Start(
        string name, string fileName, IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null, bool keepStdout = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            // A pipe we never write: no child reads the terminal the runner was started from.
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    info.Environment.Remove(key);
                }
                else
                {
                    info.Environment[key] = value;
                }
            }
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ScenarioException($"{name}: could not start {fileName}");
        }
        catch (Win32Exception ex)
        {
            throw new ScenarioException($"{name}: could not start {fileName}: {ex.Message}");
        }

        var child = new ChildProcess(name, process, keepStdout) { CommandLine = fileName + " " + string.Join(' ', args) };
        Live[child.Id] = child;
        return child;
    }

    /// <summary>Waits for exit and for the output to be read; null when TIMEOUT passed first (the process is left running).</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        // The process is gone; its pipes close with it unless a grandchild kept them, hence the bound.
        await _readers.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return _process.ExitCode;
    }

    public string StandardOutput
    {
        get
        {
            lock (_tail)
            {
                return _stdout?.ToString() ?? "";
            }
        }
    }

    /// <summary>The last lines of stdout and stderr, for error messages that say why a target died.</summary>
    public string Tail()
    {
        lock (_tail)
        {
            return _tail.Count == 0 ? "(no output)" : string.Join(Environment.NewLine, _tail);
        }
    }

    /// <summary>Stops the process and every descendant (nginx workers, a wrapper's children), each wait bounded.
    /// SIGTERM first, so a master reaps its workers and nothing is left as a zombie; SIGKILL for whatever stays.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                // Taken before the signal: once the root dies its children are re-parented and untraceable.
                var descendants = ProcessMetrics.Tree(Id);
                if (SysKill(Id, SIGTERM) == 0)
                {
                    _process.WaitForExit(TermWait);
                }

                foreach (var pid in descendants)
                {
                    if (pid != Id && ProcessMetrics.IsAlive(pid))
                    {
                        SysKill(pid, SIGKILL);
                    }
                }

                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _process.WaitForExit(KillWait);
        }
        catch (InvalidOperationException)
        {
            // Already reaped.
        }
        catch (Win32Exception ex)
        {
            Console.Error.WriteLine($"warning: could not kill {Name} (pid {Id}): {ex.Message}");
        }
        finally
        {
            Live.TryRemove(Id, out _);
        }
    }

    public static void KillAll()
    {
        foreach (var child in Live.Values)
        {
            child.Kill();
        }
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder? keep)
    {
        try
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_tail)
                {
                    keep?.AppendLine(line);
                    if (_tail.Count == TailLines)
                    {
                        _tail.Dequeue();
                    }

                    _tail.Enqueue(line);
                }
            }
        }
        catch (IOException)
        {
            // The pipe broke because the process was killed; what was read is all there is.
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SysKill(int pid, int signal);
}
