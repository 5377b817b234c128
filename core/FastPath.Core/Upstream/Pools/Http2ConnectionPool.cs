// HTTP/2 connections to one endpoint, multiplexed: a request opens a stream on the first live connection that has
// room under its stream cap (the peer's SETTINGS_MAX_CONCURRENT_STREAMS, or the cluster's lower
// http2.max_concurrent_streams); when every connection is full (or there is none) another is opened, up to the
// pool's cap. Requests that find a connection still opening (TCP, TLS with ALPN h2, the peer's SETTINGS) wait for
// it, up to its expected stream cap, rather than each opening their own: a burst of first requests opens
// ceil(burst / cap) connections, not one per request. A connection that received GOAWAY opens no more streams (the
// engine says so) and leaves the pool once its streams end; streams above the GOAWAY's last id fail as refused,
// which the route's retry policy may retry (refused-stream). The connection engine (Http2/Http2Connection, client
// role) does the framing, flow control, keepalive and defences; the pool only chooses.
using System.Net;
using System.Net.Sockets;
using FastPath.Config;
using FastPath.Http;
using FastPath.Http2;
using FastPath.Tls;
using FastPath.Transport;
using FastPath.Upstream.Clusters;
using Microsoft.AspNetCore.Connections;

namespace FastPath.Upstream.Pools;

/// <summary>A stream opened for one request, or why none could be; Http11Selected (protocol auto): no stream, because
/// the origin chose http/1.1 and the request goes to the endpoint's HTTP/1.1 pool instead.</summary>
internal readonly record struct Http2StreamLease(Http2Stream? Stream, ProxyError Error, bool Http11Selected = false);

internal sealed class Http2ConnectionPool
{
    // What a connection is assumed to allow before any peer's SETTINGS was seen (RFC 9113 §6.5.2 recommends at
    // least 100); once one arrives, the last peer's limit is assumed for the next connection.
    private const uint AssumedPeerStreams = 100;
    // A request whose connection turned out to allow fewer streams than waited for goes back to the pool this many
    // times; each time the pool knows the peer's limit better, so one more round is the normal case.
    private const int MaxRounds = 3;

    private readonly Lock _lock = new();
    private readonly List<Http2Connection> _live = new();
    private readonly List<PendingConnection> _opening = new();
    private readonly UpstreamConnector _connector;
    private readonly Http2ConnectionLimits _limits;
    private uint _peerStreams = AssumedPeerStreams;
    private int _openTotal;
    private int _connectFailures;

    /// <param name="host">The endpoint's host as configured: the SNI and the name its certificate must match under TLS.</param>
    public Http2ConnectionPool(string name, IPEndPoint address, UpstreamConnector connector, PoolSettings settings, string? host = null,
        Http2ConnectionLimits? limits = null)
    {
        Name = name;
        Host = host ?? address.Address.ToString();
        Address = address;
        _connector = connector;
        Settings = settings;
        _limits = limits ?? Http2ConnectionLimits.Default;
    }

    public string Name { get; }
    public string Host { get; }
    public IPEndPoint Address { get; }
    public PoolSettings Settings { get; set; }
    /// <summary>
    /// Protocol auto: the endpoint's HTTP/1.1 pool, which takes a connection on which ALPN selected http/1.1 (and
    /// from then on the endpoint's requests); null for protocol http2, where such an origin is a TLS failure.
    /// </summary>
    public Http1ConnectionPool? Http11Fallback { get; set; }

    /// <summary>The cluster's http2 settings the connections were built with: a change needs a new pool.</summary>
    public UpstreamHttp2Config? Options { get; init; }
    public int OpenConnections { get { lock (_lock) return _live.Count; } }
    public int ConnectionsOpened => Volatile.Read(ref _openTotal);
    public int ConnectFailures => Volatile.Read(ref _connectFailures);

    /// <summary>Raised with +1/-1 as connections open and close, for the active-connections gauge.</summary>
    public Action<int>? OnActiveChanged;

    /// <summary>
    /// Sends <paramref name="head"/> on a new stream. Synchronous when a live connection has room (the steady state);
    /// otherwise it waits for a connection being opened, or opens one. Fails with UpstreamConnectFailure or, at the
    /// cap, UpstreamOverflow.
    /// </summary>
    public ValueTask<Http2StreamLease> OpenStreamAsync(HttpRequestHead head, bool endStream) => OpenStreamAsync(head, endStream, round: 0);

    private ValueTask<Http2StreamLease> OpenStreamAsync(HttpRequestHead head, bool endStream, int round)
    {
        PendingConnection? pending;
        bool opener = false;
        lock (_lock)
        {
            for (int i = 0; i < _live.Count; i++)
            {
                ValueTask<Http2Stream?> opened = _live[i].OpenStreamAsync(head, endStream);
                if (!opened.IsCompletedSuccessfully) return AwaitOpenedAsync(opened, head, endStream, round);
                if (opened.Result is { } stream) return new ValueTask<Http2StreamLease>(new Http2StreamLease(stream, ProxyError.None));
            }
            pending = JoinOpeningLocked();
            if (pending is null)
            {
                if (_live.Count + _opening.Count >= Settings.MaxConnections)
                    return new ValueTask<Http2StreamLease>(new Http2StreamLease(null, ProxyError.UpstreamOverflow));
                pending = new PendingConnection();
                pending.Waiters = 1;
                _opening.Add(pending);
                opener = true;
            }
        }
        if (opener) _ = ConnectAsync(pending);
        return AwaitPendingAsync(pending, head, endStream, round);
    }

    /// <summary>A connection being opened with room for one more request, counted in; null when none has. Under _lock.</summary>
    private PendingConnection? JoinOpeningLocked()
    {
        uint cap = Math.Min(_peerStreams, _limits.MaxOpenStreams);
        foreach (PendingConnection p in _opening)
        {
            if ((uint)p.Waiters >= cap) continue;
            p.Waiters++;
            return p;
        }
        return null;
    }

    // The connection's output is backlogged: wait for it; a stream it could not open after all goes elsewhere.
    private async ValueTask<Http2StreamLease> AwaitOpenedAsync(ValueTask<Http2Stream?> opened, HttpRequestHead head, bool endStream, int round)
    {
        Http2Stream? stream = await opened.ConfigureAwait(false);
        if (stream is not null) return new Http2StreamLease(stream, ProxyError.None);
        return await NextRoundAsync(head, endStream, round).ConfigureAwait(false);
    }

    private async ValueTask<Http2StreamLease> AwaitPendingAsync(PendingConnection pending, HttpRequestHead head, bool endStream, int round)
    {
        Http2Connection? connection = await pending.Task.ConfigureAwait(false);
        if (connection is null) return new Http2StreamLease(null, pending.Error, pending.Http11Selected);
        Http2Stream? stream = await connection.OpenStreamAsync(head, endStream).ConfigureAwait(false);
        if (stream is not null) return new Http2StreamLease(stream, ProxyError.None);
        // The peer allows fewer streams than waited for this connection, or it ended at once.
        return await NextRoundAsync(head, endStream, round).ConfigureAwait(false);
    }

    private ValueTask<Http2StreamLease> NextRoundAsync(HttpRequestHead head, bool endStream, int round) =>
        round + 1 < MaxRounds ? OpenStreamAsync(head, endStream, round + 1) : new ValueTask<Http2StreamLease>(new Http2StreamLease(null, ProxyError.UpstreamReset));

    /// <summary>
    /// Opens one connection for the requests waiting on <paramref name="pending"/>: TCP, TLS when the cluster
    /// originates it (ALPN h2, verified as for HTTP/1.1), then the peer's SETTINGS, each within connect_timeout.
    /// The connection joins the pool before the waiters are woken, so later requests find it live.
    /// </summary>
    private async Task ConnectAsync(PendingConnection pending)
    {
        Http2Connection? connection = null;
        Task? run = null;
        ProxyError error = ProxyError.UpstreamConnectFailure;
        bool http11 = false;
        CircuitBreakers? breakers = Settings.Breakers;
        try
        {
            if (breakers is not null && !breakers.TryAcquireConnection())
            {
                error = ProxyError.UpstreamOverflow;
                return;
            }
            ConnectionContext context;
            try
            {
                context = await _connector.ConnectAsync(Address, Settings.ConnectTimeout).ConfigureAwait(false);
                // A handshake failure (verification, or no h2 in ALPN) is counted and logged by the TLS context.
                if (Settings.Tls is { } tls) context = await tls.AuthenticateAsync(context, Host, Settings.ConnectTimeout).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                breakers?.ReleaseConnection();
                Interlocked.Increment(ref _connectFailures);
                return;
            }
            if (Http11Fallback is { } fallback && !UpstreamTlsContext.SelectedHttp2(context))
            {
                // Protocol auto and the origin chose http/1.1: the connection and its waiters go to the HTTP/1.1 pool.
                fallback.AdoptHttp11(context, breakers);
                error = ProxyError.None;
                http11 = true;
                return;
            }
            (connection, run) = await StartAsync(context, breakers).ConfigureAwait(false);
            if (connection is null) return;
        }
        catch (Exception)
        {
            // Nothing above throws by design; a waiter must be woken whatever happens.
            connection = null;
        }
        finally
        {
            lock (_lock)
            {
                _opening.Remove(pending);
                if (connection is not null) JoinLiveLocked(connection, run!);
            }
            pending.Complete(connection, error, http11);
        }
    }

    /// <summary>
    /// Runs the HTTP/2 engine on a connection whose handshake is done and waits for the server's SETTINGS (its
    /// concurrency limit is unknown until then, and streams above it would be refused: one round trip per new
    /// connection, none per request). Null when they do not come within connect_timeout; the connection then closes.
    /// </summary>
    private async Task<(Http2Connection? Connection, Task? Run)> StartAsync(ConnectionContext context, CircuitBreakers? breakers)
    {
        Interlocked.Increment(ref _openTotal);
        var opened = Http2Connection.ForClient(context.Transport, _limits, secure: Settings.Tls is not null,
            maxStreams: Settings.MaxRequestsPerConnection);
        OnActiveChanged?.Invoke(1);
        Task run = RunAsync(opened, context, breakers);
        Task settled = opened.PeerSettingsReceived;
        if (await Task.WhenAny(settled, run, Task.Delay(Settings.ConnectTimeout)).ConfigureAwait(false) != settled)
        {
            opened.BeginGracefulShutdown();
            Interlocked.Increment(ref _connectFailures);
            return (null, run);
        }
        return (opened, run);
    }

    /// <summary>
    /// Protocol auto: a connection the HTTP/1.1 pool opened on which the origin chose h2 (it offers both on every new
    /// connection, as Envoy does). The endpoint speaks HTTP/2 again from now on; this is its first connection, live
    /// once the server's SETTINGS arrived. False when they did not (the connection is closed; the caller fails over).
    /// </summary>
    internal async Task<bool> AdoptHttp2Async(ConnectionContext context, CircuitBreakers? breakers)
    {
        (Http2Connection? connection, Task? run) = await StartAsync(context, breakers).ConfigureAwait(false);
        if (connection is null) return false;
        lock (_lock) return JoinLiveLocked(connection, run!);
    }

    /// <summary>A started connection takes streams from now on, unless it already ended; its SETTINGS set the stream
    /// cap new connections are counted against. Under _lock.</summary>
    private bool JoinLiveLocked(Http2Connection connection, Task run)
    {
        _peerStreams = Math.Max(1, connection.StreamCap);
        if (run.IsCompleted) return false;
        _live.Add(connection);
        return true;
    }

    /// <summary>Reads the connection until it ends, then takes it out of the pool and closes its socket.</summary>
    private async Task RunAsync(Http2Connection connection, ConnectionContext context, CircuitBreakers? breakers)
    {
        try
        {
            await connection.RunAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The engine turns protocol errors into values; a transport failure just ends the connection.
        }
        finally
        {
            lock (_lock) _live.Remove(connection);
            OnActiveChanged?.Invoke(-1);
            breakers?.ReleaseConnection();
            try
            {
                await context.Transport.Output.CompleteAsync().ConfigureAwait(false);
                await context.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Closing anyway.
            }
        }
    }

    /// <summary>Heartbeat: the engines' timeouts (SETTINGS ACK, stalled windows, shutdown) and flood intervals.</summary>
    public void Tick(long now)
    {
        lock (_lock)
        {
            foreach (Http2Connection c in _live) c.Tick(now);
        }
    }

    /// <summary>Closes every connection gracefully (config removed the endpoint, or the proxy stops).</summary>
    public void CloseAll()
    {
        lock (_lock)
        {
            foreach (Http2Connection c in _live) c.BeginGracefulShutdown();
        }
    }
}

/// <summary>A connection being opened and the requests waiting for it (counted so they stay under its stream cap).</summary>
internal sealed class PendingConnection
{
    private readonly TaskCompletionSource<Http2Connection?> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Requests counted in, under the pool's lock.</summary>
    public int Waiters;

    /// <summary>Why it failed, read once Task completed with null.</summary>
    public ProxyError Error { get; private set; }

    /// <summary>Protocol auto: no HTTP/2 connection because the origin chose http/1.1 (not a failure).</summary>
    public bool Http11Selected { get; private set; }

    public Task<Http2Connection?> Task => _result.Task;

    public void Complete(Http2Connection? connection, ProxyError error, bool http11Selected)
    {
        Error = error;
        Http11Selected = http11Selected;
        _result.TrySetResult(connection);
    }
}
