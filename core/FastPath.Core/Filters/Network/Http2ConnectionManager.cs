// One downstream HTTP/2 connection: the HTTP/2 engine (Http2/Http2Connection) runs the frames, streams, flow control
// and defences; every request stream it completes goes to a stream processor (an HttpConnectionManager in stream
// mode) that proxies it like an HTTP/1.1 request. Processors are created as concurrency needs them (at most the
// advertised max concurrent streams) and reused for later streams, so steady-state streams allocate nothing here.
// The heartbeat ticks the engine (its timeouts and flood intervals) and every processor's deadlines; a drain starts
// the engine's graceful two-phase GOAWAY.
using System.IO.Pipelines;
using FastPath.Http2;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Security;
using FastPath.Security.Authorization;
using FastPath.Upstream;

namespace FastPath.Filters.Network;

internal sealed class Http2ConnectionManager : IHttp2StreamHandler
{
    private readonly ProxyRuntime _runtime;
    private readonly string _listener;
    private readonly DownstreamTls? _tls;
    private readonly byte[] _clientAddress;
    private readonly Http2Connection _connection;
    private readonly object _lock = new();
    private readonly Stack<HttpConnectionManager> _idle = new();
    private readonly List<HttpConnectionManager> _processors = new();
    private bool _stopped;

    public Http2ConnectionManager(IDuplexPipe transport, ProxyRuntime runtime, string listener, DownstreamTls? tls, byte[] clientAddress)
    {
        _runtime = runtime;
        _listener = listener;
        _tls = tls;
        _clientAddress = clientAddress;
        // The listener's http2 settings as of this connection's start; a reload applies to later connections.
        _connection = new Http2Connection(transport, this, runtime.Snapshot.Http2LimitsFor(listener));
    }

    public Http2Connection Connection => _connection;

    /// <summary>Where each stream's authorization finds the connection's addresses (source.ip, destination.port, ...):
    /// the connection's manager, which resolves them once, when a policy first asks.</summary>
    public required HttpConnectionManager AddressSource { get; init; }

    public async Task RunAsync()
    {
        try
        {
            await _connection.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            Http2Metrics.CountEnd(_connection.EndReason);
            HttpConnectionManager[] idle;
            lock (_lock)
            {
                _stopped = true;
                idle = [.. _idle];
                _idle.Clear();
            }
            // Busy processors stop when their stream ends (ReturnIdle sees _stopped).
            foreach (HttpConnectionManager p in idle) p.Stop();
        }
    }

    ValueTask IHttp2StreamHandler.ProcessStreamAsync(Http2Stream stream)
    {
        HttpConnectionManager? processor = null;
        lock (_lock)
        {
            if (_idle.Count > 0) processor = _idle.Pop();
        }
        if (processor is null)
        {
            processor = new HttpConnectionManager(this, _runtime, _listener, _tls, _clientAddress);
            lock (_lock) _processors.Add(processor);
            _ = processor.RunAsync();
        }
        return processor.BeginStream(stream);
    }

    void IHttp2StreamHandler.OnStreamAnswered(Http2Stream stream, int status)
    {
        // No exchange ran: count and log the answer as the request loop would (a 431 is a downstream protocol error).
        _runtime.NoClusterStats.Record(status, 0);
        ProxyMetrics.CountFlags(ResponseFlags.DPE);
        if (_runtime.AccessLog is not { } log) return;
        AccessLogRecord record = HttpConnectionManager.LogRecord(stream.RequestHead, DateTime.UtcNow, status, ResponseFlags.DPE, _clientAddress, _tls);
        record.ResponseCodeDetails = "header_list_too_large"u8;
        log.Log(in record);
    }

    /// <summary>A processor finished its stream and the engine took the stream back.</summary>
    internal void ReturnIdle(HttpConnectionManager processor)
    {
        lock (_lock)
        {
            if (!_stopped)
            {
                _idle.Push(processor);
                return;
            }
        }
        processor.Stop();
    }

    /// <summary>A processor's loop ended (the connection closed, or a failure it could not recover from).</summary>
    internal void Remove(HttpConnectionManager processor)
    {
        lock (_lock) _processors.Remove(processor);
    }

    public void CheckDeadlines(long now)
    {
        _connection.Tick(now);
        lock (_lock)
        {
            foreach (HttpConnectionManager p in _processors) p.CheckDeadlines(now);
        }
    }

    public void BeginDrain() => _connection.BeginGracefulShutdown();
}
