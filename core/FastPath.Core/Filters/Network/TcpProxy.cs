// The terminal L4 filter (Envoy's tcp_proxy): picks an endpoint of the chain's cluster, opens a raw upstream socket
// and relays bytes both ways until both directions have ended, with TLS passing through untouched (the peeked
// ClientHello is still in the downstream pipe, so it is the first thing relayed).
//
// Each direction reads its source through the transport's pipe (back-pressure: a byte is released from the pipe
// only once the other socket took it, so a slow reader stops the fast writer's TCP window) and writes straight to
// the destination socket. Writing to the socket rather than to the pipe is what makes half-close possible: Kestrel's
// socket transport shuts down both directions when its output pipe completes, whereas a FIN from one peer must
// become a shutdown(SHUT_WR) towards the other while the opposite direction carries on (RFC 9293 section 3.6).
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using FastPath.Tls;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using Microsoft.AspNetCore.Connections;
using Prometheus;

namespace FastPath.Filters.Network;

internal sealed class TcpProxy
{
    private const int NotAborted = 0, AbortedIdle = 1, AbortedUpstreamReset = 2, AbortedDownstreamReset = 3, AbortedDrain = 4;

    private readonly ConnectionContext _downstream;
    private readonly TcpProxyFactory _factory;
    private readonly UpstreamConnector _connector;
    private readonly ulong _hashKey;
    private ConnectionContext? _upstream;
    private TcpClusterStats? _stats;
    private long _lastActivity = Environment.TickCount64;
    private int _aborted;

    public TcpProxy(ConnectionContext downstream, TcpProxyFactory factory, UpstreamConnector connector, ulong sourceHash)
    {
        _downstream = downstream;
        _factory = factory;
        _connector = connector;
        _hashKey = sourceHash;
    }

    public Cluster? Cluster { get; private set; }
    public UpstreamEndpoint? Endpoint { get; private set; }
    public ProxyError Error { get; private set; }
    /// <summary>Client to upstream.</summary>
    public long BytesReceived;
    /// <summary>Upstream to client.</summary>
    public long BytesSent;

    /// <summary>Heartbeat: ends a tunnel no byte has crossed for the idle timeout.</summary>
    public void CheckIdle(long now)
    {
        long idle = _factory.IdleTimeoutMs;
        if (idle <= 0 || _upstream is null || now - Volatile.Read(ref _lastActivity) < idle) return;
        if (Abort(AbortedIdle)) _stats?.IdleTimeouts.Inc();
    }

    /// <summary>Drain timeout: the tunnel is closed both ways.</summary>
    public void Close() => Abort(AbortedDrain);

    public async Task RunAsync()
    {
        int index = _factory.PickCluster();
        Cluster cluster = Cluster = _factory.Cluster(index);
        TcpClusterStats stats = _stats = _factory.Stats(index);
        // Consistent-hash policies key on the client address: the only stable thing a TCP connection has.
        UpstreamEndpoint? endpoint = Endpoint = cluster.LoadBalancer.Pick(new LoadBalancerContext
        {
            HashKey = _hashKey,
            HasHashKey = cluster.HashKind != Config.HashPolicyKind.None,
        });
        if (endpoint is null)
        {
            Error = ProxyError.NoHealthyUpstream;
            stats.ConnectFailures.Inc();
            return;
        }

        Interlocked.Increment(ref endpoint.ActiveRequests);
        ConnectionContext? upstream = null;
        try
        {
            try
            {
                ConnectionContext opened = await _connector.ConnectAsync(endpoint.Address, cluster.Config.ConnectTimeout).ConfigureAwait(false);
                // A failed handshake closes the connection and throws IOException: a connect failure like any other.
                if (cluster.Tls is { } tls) opened = await tls.AuthenticateAsync(opened, endpoint.Host, cluster.Config.ConnectTimeout).ConfigureAwait(false);
                upstream = opened;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
            {
                Error = ProxyError.UpstreamConnectFailure;
                stats.ConnectFailures.Inc();
                return;
            }
            stats.Opened.Inc();
            cluster.Stats.UpstreamActive.Inc();
            Volatile.Write(ref _lastActivity, Environment.TickCount64);
            Volatile.Write(ref _upstream, upstream);
            if (Volatile.Read(ref _aborted) != NotAborted)
            {
                upstream.Abort();
                return;
            }

            // A TLS side is written through its pipe (SslStream encrypts); only a plaintext socket takes direct sends,
            // which can pass a FIN on alone (completing a transport's output closes both ways).
            Socket? downstreamTarget = _downstream is TlsConnection ? null : SocketBacklog.SocketOf(_downstream);
            Socket? upstreamTarget = upstream is TlsConnection ? null : SocketBacklog.SocketOf(upstream);
            Task toUpstream = PumpAsync(_downstream.Transport.Input, SocketBacklog.Of(_downstream), upstreamTarget, upstream.Transport.Output, stats.Received, upstreamBound: true);
            Task toDownstream = PumpAsync(upstream.Transport.Input, SocketBacklog.Of(upstream), downstreamTarget, _downstream.Transport.Output, stats.Sent, upstreamBound: false);
            await toUpstream.ConfigureAwait(false);
            await toDownstream.ConfigureAwait(false);
            int aborted = Volatile.Read(ref _aborted);
            Error = aborted switch
            {
                AbortedUpstreamReset => ProxyError.UpstreamReset,       // UC
                AbortedDownstreamReset => ProxyError.DownstreamReset,   // DC
                AbortedIdle => ProxyError.StreamIdleTimeout,            // SI
                _ => ProxyError.None,
            };
        }
        finally
        {
            Interlocked.Decrement(ref endpoint.ActiveRequests);
            if (upstream is not null)
            {
                stats.Closed.Inc();
                cluster.Stats.UpstreamActive.Dec();
                await CloseAsync(upstream).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// One direction: bytes from <paramref name="from"/> to <paramref name="to"/> until the source sends FIN (then
    /// the destination gets one too, and the other direction carries on) or either side fails (then both close).
    /// </summary>
    private async Task PumpAsync(PipeReader from, ISocketBacklogFeature? source, Socket? to, PipeWriter fallback, Counter.Child bytes, bool upstreamBound)
    {
        // Which peer failed, for the response flag: the one read from, unless the failure came while sending.
        int readFailure = upstreamBound ? AbortedDownstreamReset : AbortedUpstreamReset;
        int sendFailure = upstreamBound ? AbortedUpstreamReset : AbortedDownstreamReset;
        bool sending = false;
        long forwarded = 0, knownUntil = 0; // for SocketBacklog.MoreWaiting: the kernel is asked once per burst
        try
        {
            while (true)
            {
                ReadResult result = await from.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    from.AdvanceTo(buffer.Start);
                    Abort(readFailure);
                    return;
                }
                if (!buffer.IsEmpty)
                {
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                    // The transport receives at most one 4 KiB block at a time: while the kernel holds more, read on
                    // and send what arrived together in one syscall (see SocketBacklog; a bulk transfer otherwise
                    // pays one send per 4 KiB).
                    if (!result.IsCompleted && buffer.Length < SocketBacklog.MaxUnflushedBytes
                        && SocketBacklog.MoreWaiting(source, forwarded + buffer.Length, ref knownUntil))
                    {
                        from.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                    if (to is not null)
                    {
                        // One send for the whole buffer: several segments are first gathered into a pooled array.
                        // (Sends stay in this method: a helper async method would box its state machine whenever a
                        // slow peer makes a send wait.)
                        ReadOnlyMemory<byte> data = buffer.First;
                        byte[]? gathered = null;
                        if (!buffer.IsSingleSegment)
                        {
                            gathered = ArrayPool<byte>.Shared.Rent((int)buffer.Length);
                            buffer.CopyTo(gathered);
                            data = gathered.AsMemory(0, (int)buffer.Length);
                        }
                        sending = true;
                        try
                        {
                            while (!data.IsEmpty) data = data[await to.SendAsync(data, SocketFlags.None).ConfigureAwait(false)..];
                        }
                        finally
                        {
                            if (gathered is not null) ArrayPool<byte>.Shared.Return(gathered);
                        }
                        sending = false;
                    }
                    else
                    {
                        foreach (ReadOnlyMemory<byte> segment in buffer) fallback.Write(segment.Span);
                        if ((await fallback.FlushAsync().ConfigureAwait(false)).IsCompleted)
                        {
                            from.AdvanceTo(buffer.End);
                            Abort(sendFailure);
                            return;
                        }
                    }
                    long n = buffer.Length;
                    forwarded += n;
                    if (upstreamBound) Interlocked.Add(ref BytesReceived, n);
                    else Interlocked.Add(ref BytesSent, n);
                    bytes.Inc(n);
                    Volatile.Write(ref _lastActivity, Environment.TickCount64);
                }
                from.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    // FIN from the source: pass it on, keep the other direction open (half-close).
                    sending = true;
                    if (to is not null) to.Shutdown(SocketShutdown.Send);
                    else await fallback.CompleteAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or ConnectionResetException
                                       or ConnectionAbortedException or InvalidOperationException or OperationCanceledException)
        {
            // Either side reset or the tunnel was aborted: nothing more can cross in either direction.
            Abort(sending ? sendFailure : readFailure);
        }
    }

    private bool Abort(int reason)
    {
        if (Interlocked.CompareExchange(ref _aborted, reason, NotAborted) != NotAborted) return false;
        _downstream.Abort();
        Volatile.Read(ref _upstream)?.Abort();
        return true;
    }

    private static async ValueTask CloseAsync(ConnectionContext upstream)
    {
        try
        {
            await upstream.Transport.Input.CompleteAsync().ConfigureAwait(false);
            await upstream.Transport.Output.CompleteAsync().ConfigureAwait(false);
            await upstream.DisposeAsync().ConfigureAwait(false);
        }
        catch
        {
            // The socket is going away either way.
        }
    }

    /// <summary>Milliseconds since <paramref name="started"/> (Stopwatch ticks), for the access log.</summary>
    public static double ElapsedMs(long started) => Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}
