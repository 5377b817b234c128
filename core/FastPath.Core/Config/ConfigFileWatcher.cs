// Reloads the config file when it changes on disk (debounced: editors write in several steps) or on demand (SIGHUP).

namespace FastPath.Config;

public sealed class ConfigFileWatcher : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);
    private readonly string _path;
    private readonly FastPathProxy _proxy;
    private readonly string _fileName;
    private readonly FileSystemWatcher _watcher;
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
        // The whole directory, not just the file's name: a Kubernetes ConfigMap volume updates by swapping a symlink
        // beside the file (..data), and no event ever names the file itself. The kernel reports every change in the
        // directory either way (inotify watches directories); the name filter only ran in this process.
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnDirectoryChanged;
        _watcher.Created += OnDirectoryChanged;
        _watcher.Renamed += OnDirectoryChanged;
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>The file itself changed, or another entry did and the path now leads to a different file.</summary>
    private void OnDirectoryChanged(object? sender, FileSystemEventArgs e)
    {
        if (string.Equals(e.Name, _fileName, StringComparison.Ordinal))
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
        _watcher.Dispose();
        _timer.Dispose();
    }
}
