// Reloads the config file when it changes on disk (debounced: editors write in several steps) or on demand (SIGHUP).

namespace FastPath.Config;

public sealed class ConfigFileWatcher : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(250);
    private readonly string _path;
    private readonly FastPathProxy _proxy;
    private readonly FileSystemWatcher _watcher;
    private readonly Timer _timer;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public ConfigFileWatcher(string path, FastPathProxy proxy)
    {
        _path = Path.GetFullPath(path);
        _proxy = proxy;
        _timer = new Timer(_ => _ = ReloadAsync(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Schedule();
        _watcher.Created += (_, _) => Schedule();
        _watcher.Renamed += (_, _) => Schedule();
        _watcher.EnableRaisingEvents = true;
    }

    public void Schedule() => _timer.Change(Debounce, Timeout.InfiniteTimeSpan);

    /// <summary>Reads and applies the file; errors are logged and the running config stays.</summary>
    public async Task<IReadOnlyList<ConfigError>> ReloadAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
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
