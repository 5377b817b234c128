// A downstream connection on a listener with filter chains or TLS: runs the listener filter (the TLS inspector, when
// some chain matches on SNI, ALPN or transport, or terminates TLS), chooses the chain (FilterChainMatcher),
// terminates TLS when the chain says so (its own tls, or PeerAuthentication STRICT/PERMISSIVE) and hands the
// connection to it: an HttpConnectionManager with the chain's route table, or a TcpProxy. A plaintext listener
// without filter chains never comes here: its connections go straight to the HttpConnectionManager, with no peek
// and no extra object.
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using FastPath.Config;
using FastPath.Filters.Listener;
using FastPath.LoadBalancing;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Security;
using FastPath.Security.Authorization;
using FastPath.Tls;
using FastPath.Transport;
using FastPath.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastPath.Filters.Network;

internal sealed class FilterChainConnection
{
    private enum Inspection : byte
    {
        Tls,
        Raw,
        Close,
    }

    private readonly ConnectionContext _context;
    private readonly ProxyRuntime _runtime;
    private readonly ListenerFilterChains _chains;
    private readonly ReadDeadline _inspectDeadline = new();
    private ClientHelloInfo _hello;
    private volatile TcpProxy? _tcp;
    // What TLS termination established on this connection (issue 4): the peer identity for network-level
    // authorization and the log; null on plaintext and passthrough chains.
    private DownstreamTls? _tls;
    // While a TLS handshake runs: its timeout, which a drain's end also fires.
    private CancellationTokenSource? _handshake;

    private FilterChainConnection(ConnectionContext context, ProxyRuntime runtime, ListenerFilterChains chains)
    {
        _context = context;
        _runtime = runtime;
        _chains = chains;
    }

    /// <summary>The listener's connection handler: filter chains when the listener has any, else HTTP directly.</summary>
    public static Task RunAsync(ConnectionContext context, ProxyRuntime runtime, string listenerKey) =>
        runtime.Snapshot.FilterChains.TryGetValue(listenerKey, out ListenerFilterChains? chains)
            ? new FilterChainConnection(context, runtime, chains).RunAsync()
            : new HttpConnectionManager(context, runtime, listenerKey).RunAsync();

    /// <summary>Heartbeat: the inspector's deadline and the tunnel's idle timeout.</summary>
    public void CheckDeadlines(long now)
    {
        _inspectDeadline.Check(now);
        _tcp?.CheckIdle(now);
    }

    /// <summary>End of a drain: whatever this connection is doing, it closes now.</summary>
    public void Close()
    {
        _inspectDeadline.Fire();
        try { _handshake?.Cancel(); } catch (ObjectDisposedException) { /* the handshake is over */ }
        _tcp?.Close();
    }

    private async Task RunAsync()
    {
        _runtime.Sessions.TryAdd(this, 0);
        ProxyMetrics.DownstreamActive.Inc();
        bool handedToHttp = false;
        TlsConnection? terminated = null;
        try
        {
            Inspection inspection = Inspection.Raw;
            if (_chains.NeedsTlsInspector)
            {
                inspection = await InspectAsync().ConfigureAwait(false);
                if (inspection == Inspection.Close) return;
            }

            FilterChain? chain = SelectChain(inspection == Inspection.Tls);
            if (chain is null)
            {
                _chains.NoMatch.Inc();
                if (_runtime.Logger.IsEnabled(LogLevel.Debug))
                    NetworkLog.NoFilterChainMatch(_runtime.Logger, Describe(_context.RemoteEndPoint), _chains.ListenerName, Printable(_hello.ServerName));
                return;
            }

            ConnectionContext connection = _context;
            if (chain.Tls is { } tls)
            {
                if (inspection == Inspection.Tls)
                {
                    terminated = await TerminateAsync(tls).ConfigureAwait(false);
                    if (terminated is null) return;
                    connection = terminated;
                    _tls = DownstreamTlsContext.Describe(terminated);
                }
                else if (!tls.AllowPlaintext)
                {
                    // STRICT mTLS (or a TLS-only chain) and the client spoke plaintext: closed, counted, logged.
                    TlsFailures.Count(TlsFailure.Plaintext, upstream: false);
                    if (_runtime.Logger.IsEnabled(LogLevel.Information))
                        TlsLog.DownstreamHandshakeFailed(_runtime.Logger, Describe(_context.RemoteEndPoint), _chains.ListenerName,
                            TlsFailures.Label(TlsFailure.Plaintext), "the connection did not start with a TLS ClientHello");
                    return;
                }
            }

            if (chain.TcpProxy is { } factory)
            {
                await ProxyTcpAsync(chain, factory, connection).ConfigureAwait(false);
                return;
            }

            // HTTP: the connection manager counts and registers the connection itself from here on.
            _runtime.Sessions.TryRemove(this, out _);
            ProxyMetrics.DownstreamActive.Dec();
            handedToHttp = true;
            await new HttpConnectionManager(connection, _runtime, chain.RoutesKey!, _tls).RunAsync().ConfigureAwait(false);
        }
        finally
        {
            if (terminated is not null) await terminated.DisposeAsync().ConfigureAwait(false);
            if (!handedToHttp)
            {
                _runtime.Sessions.TryRemove(this, out _);
                ProxyMetrics.DownstreamActive.Dec();
                ProxyMetrics.DownstreamTotal.Inc();
                await CloseAsync().ConfigureAwait(false);
            }
        }
    }

    private FilterChain? SelectChain(bool isTls)
    {
        var query = new FilterChainQuery
        {
            DestinationPort = (_context.LocalEndPoint as IPEndPoint)?.Port ?? 0,
            ServerName = isTls ? _hello.ServerName : default,
            IsTls = isTls,
            ApplicationProtocols = isTls ? _hello.Alpn : default,
            Source = (_context.RemoteEndPoint as IPEndPoint)?.Address,
        };
        return _chains.Select(in query);
    }

    /// <summary>
    /// Peeks at the first bytes until a whole ClientHello, or a first byte that rules TLS out, is there: nothing is
    /// consumed, so the chosen chain reads the connection from its first byte.
    /// </summary>
    // Pooled builder: the peek nearly always waits for the client's first bytes, and a plain async ValueTask method
    // would then box its state machine once per connection.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Inspection> InspectAsync()
    {
        PipeReader input = _context.Transport.Input;
        var scan = new ClientHelloScan();
        Inspection outcome;
        string? reason = null;
        _inspectDeadline.Arm(input, _chains.ListenerFiltersTimeoutMs);
        try
        {
            while (true)
            {
                ReadResult read = await input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = read.Buffer;
                if (read.IsCanceled)
                {
                    input.AdvanceTo(buffer.Start);
                    NetworkMetrics.InspectedTimeout.Inc();
                    outcome = _chains.ContinueOnListenerFiltersTimeout ? Inspection.Raw : Inspection.Close;
                    reason = "listener_filters_timeout";
                    break;
                }
                ClientHelloParseResult parsed = ClientHelloParser.Parse(buffer, ref scan, ref _hello);
                if (parsed == ClientHelloParseResult.Incomplete)
                {
                    if (read.IsCompleted)
                    {
                        input.AdvanceTo(buffer.Start);
                        NetworkMetrics.InspectedClosed.Inc();
                        outcome = Inspection.Close;
                        break;
                    }
                    input.AdvanceTo(buffer.Start, buffer.End); // examined, not consumed: wait for more
                    continue;
                }
                // Leave every byte unexamined too, so the chain's first read returns at once with them.
                input.AdvanceTo(buffer.Start);
                (outcome, reason) = parsed switch
                {
                    ClientHelloParseResult.Complete => (Inspection.Tls, null),
                    ClientHelloParseResult.NotTls => (Inspection.Raw, null),
                    _ => (Inspection.Close, "client_hello_too_large"),
                };
                (parsed switch
                {
                    ClientHelloParseResult.Complete => NetworkMetrics.InspectedTls,
                    ClientHelloParseResult.NotTls => NetworkMetrics.InspectedNotTls,
                    _ => NetworkMetrics.InspectedTooLarge,
                }).Inc();
                break;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or InvalidOperationException)
        {
            NetworkMetrics.InspectedClosed.Inc();
            outcome = Inspection.Close;
        }
        _inspectDeadline.Disarm();
        if (outcome == Inspection.Close && reason is not null && _runtime.Logger.IsEnabled(LogLevel.Debug))
            NetworkLog.InspectorClosed(_runtime.Logger, _chains.ListenerName, Describe(_context.RemoteEndPoint), reason);
        return outcome;
    }

    /// <summary>The chain's TLS handshake, under its timeout; null when it failed (counted and logged already).</summary>
    private async Task<TlsConnection?> TerminateAsync(DownstreamTlsContext tls)
    {
        using var handshake = new CancellationTokenSource();
        _handshake = handshake;
        if (_runtime.Draining) handshake.Cancel();
        try
        {
            return await tls.AuthenticateAsync(_context, _chains.ListenerName, _runtime.Logger, handshake).ConfigureAwait(false);
        }
        finally
        {
            _handshake = null;
        }
    }

    private async Task ProxyTcpAsync(FilterChain chain, TcpProxyFactory factory, ConnectionContext connection)
    {
        long started = Stopwatch.GetTimestamp();
        DateTime startUtc = _runtime.AccessLog is null ? default : DateTime.UtcNow;
        // Authorization (Istio AuthorizationPolicy, TCP semantics) before any upstream connect: a denied connection
        // is closed, counted by policy and logged with the policy that decided.
        if (_runtime.Snapshot.Authorization is { } authz && !AuthorizeConnection(authz, chain, started, startUtc)) return;
        var tcp = new TcpProxy(connection, factory, _runtime.Connector, SourceHash(_context.RemoteEndPoint));
        _tcp = tcp;
        if (_runtime.Draining) tcp.Close();
        await tcp.RunAsync().ConfigureAwait(false);

        ResponseFlags flags = ProxyErrors.Flag(tcp.Error);
        ProxyMetrics.CountFlags(flags);
        if (tcp.Error is ProxyError.UpstreamConnectFailure or ProxyError.NoHealthyUpstream && _runtime.Logger.IsEnabled(LogLevel.Debug))
            NetworkLog.TcpConnectFailed(_runtime.Logger, _chains.ListenerName, tcp.Cluster?.Name ?? "", tcp.Error.ToString());
        if (_runtime.AccessLog is { } log) LogAccess(log, chain, tcp, flags, started, startUtc);
    }

    private bool AuthorizeConnection(AuthorizationEngine authz, FilterChain chain, long started, DateTime startUtc)
    {
        ConnectionAddresses addresses = ConnectionAddresses.From(_context);
        var ctx = new AuthorizationContext
        {
            SourceAddress = addresses.Source,
            DestinationAddress = addresses.Destination,
            DestinationPort = addresses.DestinationPort,
            Peer = _tls?.Peer,
            ServerName = _tls?.ServerName,
            ServerNameUtf8 = _hello.ServerName,
        };
        AuthorizationDecision decision = authz.Evaluate(ref ctx);
        if (decision.Allowed) return true;
        if (_runtime.Logger.IsEnabled(LogLevel.Debug))
            AuthorizationLog.TcpAccessDenied(_runtime.Logger, _chains.ListenerName, Describe(_context.RemoteEndPoint), decision.Policy?.Name ?? "none");
        if (_runtime.AccessLog is { } log)
        {
            Span<byte> client = stackalloc byte[64];
            int clientLength = FormatAddress(_context.RemoteEndPoint, client);
            var record = new AccessLogRecord
            {
                StartUtc = startUtc,
                Authority = _hello.ServerName,
                DurationMs = TcpProxy.ElapsedMs(started),
                VirtualHost = chain.NameUtf8,
                ClientAddress = client[..clientLength],
                PeerPrincipal = _tls?.Peer is { } peer ? peer.PrincipalUtf8 : default,
                ResponseCodeDetails = decision.DeniedDetails,
                AuditPolicy = decision.Audited is null ? default : decision.Audited.NameUtf8,
            };
            log.Log(in record);
        }
        return false;
    }

    // One line per TCP connection: no method, path or status; the SNI stands as the authority and the chain's name
    // as the virtual host.
    private void LogAccess(AccessLogger log, FilterChain chain, TcpProxy tcp, ResponseFlags flags, long started, DateTime startUtc)
    {
        Span<byte> client = stackalloc byte[64];
        int clientLength = FormatAddress(_context.RemoteEndPoint, client);
        var record = new AccessLogRecord
        {
            StartUtc = startUtc,
            Authority = _hello.ServerName,
            Flags = flags,
            BytesReceived = Interlocked.Read(ref tcp.BytesReceived),
            BytesSent = Interlocked.Read(ref tcp.BytesSent),
            DurationMs = TcpProxy.ElapsedMs(started),
            UpstreamHost = tcp.Endpoint is null ? default : tcp.Endpoint.NameUtf8,
            Cluster = tcp.Cluster is null ? default : tcp.Cluster.NameUtf8,
            VirtualHost = chain.NameUtf8,
            ClientAddress = client[..clientLength],
            PeerPrincipal = _tls?.Peer is { } peer ? peer.PrincipalUtf8 : default,
        };
        log.Log(in record);
    }

    private static ulong SourceHash(EndPoint? remote)
    {
        Span<byte> address = stackalloc byte[64];
        int n = FormatAddress(remote, address);
        return XxHash64.Hash(address[..n]);
    }

    private static int FormatAddress(EndPoint? endPoint, Span<byte> dest)
    {
        if (endPoint is not IPEndPoint ip) return 0;
        IPAddress address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        return address.TryFormat(dest, out int n) ? n : 0;
    }

    private static string Describe(EndPoint? endPoint) => endPoint?.ToString() ?? "unknown";

    /// <summary>Attacker bytes for a log line: printable ASCII kept, the rest escaped.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var s = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            if (b is >= 0x20 and < 0x7f and not (byte)'\\') s.Append((char)b);
            else s.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return s.ToString();
    }

    private async ValueTask CloseAsync()
    {
        try
        {
            await _context.Transport.Input.CompleteAsync().ConfigureAwait(false);
            await _context.Transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch
        {
            // Best effort: the peer may already be gone.
        }
    }
}
