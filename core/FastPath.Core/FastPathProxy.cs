// The engine a host runs: binds listeners and the admin listener, holds the live config snapshot, reloads it, and
// drains gracefully. Hosts only parse arguments, build a GatewayConfig and call this.
using System.Net;
using FastPath.Config;
using FastPath.Filters.Network;
using FastPath.Observability.Admin;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FastPath;

public sealed class FastPathProxy : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly IConnectionListenerFactory _transport;
    private readonly Heartbeat _heartbeat;
    private readonly UpstreamConnector _connector;
    private readonly ProxyRuntime _runtime;
    private readonly Lock _reloadLock = new();
    private readonly SemaphoreSlim _reloadGate = new(1, 1);
    private readonly Dictionary<(string Address, int Port), DownstreamListener> _listeners = [];
    private readonly TaskCompletionSource _drainRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private DownstreamListener? _admin;
    private int _drained;

    private FastPathProxy(ILoggerFactory loggerFactory, ProxySnapshot snapshot, Heartbeat heartbeat, UpstreamConnector connector,
        ClusterManager clusters, IConnectionListenerFactory transport)
    {
        _logger = loggerFactory.CreateLogger("FastPath");
        _transport = transport;
        _heartbeat = heartbeat;
        _connector = connector;
        _runtime = new ProxyRuntime(snapshot, heartbeat, clusters, AccessLogger.Create(snapshot.Config.AccessLog.Path), _logger);
    }

    /// <summary>The proxy's log, for what runs beside it (the config file watcher).</summary>
    internal ILogger Logger => _logger;

    /// <summary>Listener addresses actually bound (port 0 in config resolves here), by listener name.</summary>
    public IReadOnlyDictionary<string, IPEndPoint> ListenerEndPoints
    {
        get
        {
            lock (_reloadLock) return _listeners.Values.ToDictionary(l => l.Name, l => l.EndPoint);
        }
    }

    public IPEndPoint? AdminEndPoint => _admin?.EndPoint;

    /// <summary>Completes when a drain was asked for over the admin API (the host then calls DrainAsync).</summary>
    public Task DrainRequested => _drainRequested.Task;

    public long ConfigVersion => _runtime.Snapshot.Version;

    public int ActiveConnections => _runtime.ActiveConnections;

    public static async Task<FastPathProxy> StartAsync(GatewayConfig config, ILoggerFactory loggerFactory)
    {
        ProxyMetrics.Initialise();
        var heartbeat = new Heartbeat();
        var connector = new UpstreamConnector(loggerFactory);
        var clusters = new ClusterManager(connector, heartbeat, loggerFactory.CreateLogger("FastPath.Upstream.Health"));
        ProxySnapshot snapshot = ProxySnapshot.Build(config, clusters);
        clusters.Activate(snapshot.ClusterSet);
        IConnectionListenerFactory transport = Transport.Epoll.EpollTransport.Enabled ? Transport.Epoll.EpollTransport.Shared : new SocketTransportFactory(Options.Create(new SocketTransportOptions
        {
            // An idle connection holds no receive buffer (zero-byte reads before renting memory).
            WaitForDataBeforeAllocatingBuffer = true,
            // Continuations run on the socket thread: the proxy never blocks, and this saves a thread hop per read.
            UnsafePreferInlineScheduling = Environment.GetEnvironmentVariable("FASTPATH_INLINE_SCHEDULING") != "0",
            Backlog = 4096,
        }), loggerFactory);

        var proxy = new FastPathProxy(loggerFactory, snapshot, heartbeat, connector, clusters, transport);
        try
        {
            await proxy.ReconcileListenersAsync(config).ConfigureAwait(false);
            if (config.Admin.Port >= 0)
            {
                var admin = new AdminServer(proxy._runtime, () => proxy._drainRequested.TrySetResult());
                proxy._admin = await DownstreamListener.StartAsync(transport,
                    new IPEndPoint(IPAddress.Parse(config.Admin.Address), config.Admin.Port), "admin", admin.HandleAsync,
                    () => 1024, proxy._logger).ConfigureAwait(false);
                ProxyLog.Listening(proxy._logger, proxy._admin.EndPoint.ToString(), "admin");
            }
        }
        catch
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        ProxyLog.Transport(proxy._logger, Transport.Epoll.EpollTransport.Enabled
            ? $"epoll, {Transport.Epoll.EpollTransport.Shared.LoopCount} loops" : "kestrel sockets");
        ProxyLog.ConfigLoaded(proxy._logger, snapshot.Version, config.SourcePath ?? "(command line)");
        return proxy;
    }

    /// <summary>
    /// Validates and applies a new config: the snapshot is swapped atomically, requests in flight finish on the old
    /// one. A config that fails validation or cannot bind its listeners is rejected and the running one stays.
    /// </summary>
    public async Task<IReadOnlyList<ConfigError>> ReloadAsync(GatewayConfig config)
    {
        // One reload at a time: each builds against the pools the previous one activated.
        await _reloadGate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await ReloadCoreAsync(config).ConfigureAwait(false);
        }
        finally
        {
            _reloadGate.Release();
        }
    }

    private async Task<IReadOnlyList<ConfigError>> ReloadCoreAsync(GatewayConfig config)
    {
        ProxySnapshot next;
        try
        {
            next = ProxySnapshot.Build(config, _runtime.Clusters);
        }
        catch (ConfigException e)
        {
            return RejectReload(e.Errors);
        }
        try
        {
            await ReconcileListenersAsync(config).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or AddressInUseException or System.Net.Sockets.SocketException)
        {
            return RejectReload([new ConfigError(config.SourcePath ?? "(config)", 0, 0, "listeners", $"cannot bind: {e.Message}")]);
        }
        if (config.AccessLog.Path != _runtime.Snapshot.Config.AccessLog.Path)
        {
            AccessLogger? old = _runtime.AccessLog;
            _runtime.AccessLog = AccessLogger.Create(config.AccessLog.Path);
            if (old is not null) _ = old.DisposeAsync().AsTask();
        }
        _runtime.Clusters.Activate(next.ClusterSet);
        _runtime.Swap(next);
        ProxyMetrics.ConfigReloads.WithLabels("applied").Inc();
        ProxyLog.ConfigLoaded(_logger, next.Version, config.SourcePath ?? "(command line)");
        return [];
    }

    /// <summary>Counts and logs a reload that was refused; the running config stays in force.</summary>
    internal IReadOnlyList<ConfigError> RejectReload(IReadOnlyList<ConfigError> errors)
    {
        ProxyMetrics.ConfigReloads.WithLabels("rejected").Inc();
        ProxyLog.ConfigRejected(_logger, string.Join(Environment.NewLine, errors));
        return errors;
    }

    private async Task ReconcileListenersAsync(GatewayConfig config)
    {
        var wanted = config.Listeners.ToDictionary(l => (l.Address, l.Port));
        List<DownstreamListener> removed;
        lock (_reloadLock)
        {
            removed = _listeners.Where(kv => !wanted.ContainsKey(kv.Key)).Select(kv => kv.Value).ToList();
        }
        var added = new List<((string, int) Key, DownstreamListener Listener)>();
        try
        {
            foreach (ListenerConfig l in config.Listeners)
            {
                bool exists;
                lock (_reloadLock) exists = _listeners.ContainsKey((l.Address, l.Port));
                if (exists) continue;
                string name = l.Name;
                string routesKey = ProxySnapshot.ListenerKey(l.Address, l.Port);
                DownstreamListener listener = await DownstreamListener.StartAsync(_transport,
                    new IPEndPoint(IPAddress.Parse(l.Address), l.Port), name,
                    c => FilterChainConnection.RunAsync(c, _runtime, routesKey),
                    () => _runtime.Snapshot.Config.Limits.MaxConnections, _logger).ConfigureAwait(false);
                added.Add(((l.Address, l.Port), listener));
                ProxyLog.Listening(_logger, listener.EndPoint.ToString(), name);
            }
        }
        catch
        {
            foreach (var (_, listener) in added) await listener.StopAcceptingAsync().ConfigureAwait(false);
            throw;
        }
        lock (_reloadLock)
        {
            foreach (var (key, listener) in added) _listeners[key] = listener;
            foreach (DownstreamListener r in removed) _listeners.Remove((r.EndPoint.Address.ToString(), r.EndPoint.Port));
        }
        // A removed listener stops accepting; its open connections finish their requests on their own.
        foreach (DownstreamListener r in removed) await r.StopAcceptingAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Graceful drain: stop accepting, let requests in flight finish (their responses close the connection), close
    /// idle connections at once; whatever is still open at the timeout is closed.
    /// </summary>
    public async Task DrainAsync(TimeSpan? timeout = null)
    {
        if (Interlocked.Exchange(ref _drained, 1) != 0) return;
        TimeSpan limit = timeout ?? _runtime.Snapshot.Config.Limits.DrainTimeout;
        List<DownstreamListener> listeners;
        lock (_reloadLock) listeners = [.. _listeners.Values];
        foreach (DownstreamListener l in listeners) await l.StopAcceptingAsync().ConfigureAwait(false);
        ProxyLog.Draining(_logger, _runtime.ActiveConnections, limit);
        _runtime.BeginDrain();
        long deadline = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (_runtime.ActiveConnections > 0 && Environment.TickCount64 < deadline)
        {
            _runtime.BeginDrain(); // connections that turned idle since the last pass
            await Task.Delay(50).ConfigureAwait(false);
        }
        ProxyLog.Drained(_logger, _runtime.ActiveConnections);
        _runtime.CloseSessions();
        _runtime.Clusters.DrainAll();
    }

    public async ValueTask DisposeAsync()
    {
        List<DownstreamListener> listeners;
        lock (_reloadLock)
        {
            listeners = [.. _listeners.Values];
            _listeners.Clear();
        }
        if (Volatile.Read(ref _drained) == 0)
            foreach (DownstreamListener l in listeners) await l.StopAcceptingAsync().ConfigureAwait(false);
        if (_admin is not null) await _admin.StopAcceptingAsync().ConfigureAwait(false);
        _runtime.Clusters.DrainAll();
        _runtime.Clusters.Dispose();
        if (_runtime.AccessLog is not null) await _runtime.AccessLog.DisposeAsync().ConfigureAwait(false);
        _heartbeat.Dispose();
        _connector.Dispose();
    }
}
