// Reloads the config file when it changes on disk (debounced: editors write in several steps) or on demand (SIGHUP).

namespace FastPath.Config;

public sealed class ConfigFileWatcher : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);
    private readonly string _path;
    private readonly FastPathProxy _proxy;
    private readonly string _fileName;
    private readonly IDisposable? _watcher; // null: the kernel refused a watch; SIGHUP still reloads
    private readonly Timer _timer;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _seenLock = new();
    private (long WriteTicks, long Length) _seen; // the file the path led to when last checked or read

    public ConfigFileWatcher(string path, FastPathProxy proxy)
    {
        _path = Path.GetFullPath(path);
        _fileName = Path.GetFileName(_path);
        _proxy = proxy;
        _seen = Identify();
        _timer = new Timer(_ => _ = ReloadAsync(), null, Timeout.Infinite, Timeout.Infinite);
        // Names in the whole directory, not just the file's: a Kubernetes ConfigMap volume updates by swapping a
        // symlink beside the file (..data), and no event ever names the file itself.
        try
        {
            _watcher = OperatingSystem.IsLinux() ? new InotifyWatch(_path, OnEntriesChanged, Schedule) : WatchDirectory();
        }
        catch (IOException e)
        {
            // inotify's limits are per user and shared by all of its processes (128 instances by default on many
            // distributions, and every sidecar on a node may run as the same user): a watch is a convenience, and
            // its absence must not keep the proxy from serving.
            Observability.Logging.ProxyLog.ConfigNotWatched(proxy.Logger, _path, e.Message);
        }
    }

    /// <summary>
    /// Elsewhere, FileSystemWatcher on the directory: it cannot watch one file, so it is woken by writes to every
    /// file there (what <see cref="InotifyWatch"/> spares Linux).
    /// </summary>
    private FileSystemWatcher WatchDirectory()
    {
        var watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        FileSystemEventHandler changed = (_, e) => OnEntriesChanged(string.Equals(e.Name, _fileName, StringComparison.Ordinal));
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Renamed += (sender, e) => changed(sender, e);
        watcher.EnableRaisingEvents = true;
        return watcher;
    }

    /// <summary>The file itself changed, or another entry did and the path now leads to a different file.</summary>
    private void OnEntriesChanged(bool namedTheFile)
    {
        if (namedTheFile)
        {
            Schedule();
            return;
        }
        (long, long) now = Identify();
        lock (_seenLock)
        {
            if (now == _seen) return; // a neighbour changed (a log file, an editor's swap file): not ours
            _seen = now;
        }
        Schedule();
    }

    /// <summary>What the path leads to, through any symlinks: its modification time and length (0, -1 if absent).</summary>
    private (long, long) Identify()
    {
        try
        {
            var info = new FileInfo(_path);
            FileSystemInfo target = info.LinkTarget is null ? info : info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            return target.Exists ? (target.LastWriteTimeUtc.Ticks, target is FileInfo f ? f.Length : 0) : (0, -1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (0, -1);
        }
    }

    public void Schedule() => _timer.Change(Debounce, Timeout.InfiniteTimeSpan);

    /// <summary>Reads and applies the file; errors are logged and the running config stays.</summary>
    public async Task<IReadOnlyList<ConfigError>> ReloadAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            (long, long) reading = Identify();
            lock (_seenLock) _seen = reading;
            GatewayConfig config;
            try
            {
                config = GatewayConfigLoader.LoadFile(_path);
            }
            catch (ConfigException e)
            {
                return _proxy.RejectReload(e.Errors);
            }
            return await _proxy.ReloadAsync(config).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _timer.Dispose();
    }
}
