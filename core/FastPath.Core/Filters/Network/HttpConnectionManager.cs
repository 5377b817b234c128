// The terminal network filter for HTTP/1.1 (Envoy's HttpConnectionManager): one per downstream connection. It reads
// request heads with the Http1 codec, routes each request to a cluster, forwards it over a pooled upstream
// connection and streams the response back, answering locally (with a response flag) when anything fails.
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using HttpVersion = FastPath.Http.HttpVersion;
using System.Runtime.CompilerServices;
using FastPath.Config;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Routing;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Pools;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastPath.Filters.Network;

internal sealed class HttpConnectionManager
{
    private static ReadOnlySpan<byte> ContinueResponse => "HTTP/1.1 100 Continue\r\n\r\n"u8;
    private static ReadOnlySpan<byte> SchemeHttp => "http"u8;

    private readonly ConnectionContext _context;
    private readonly ProxyRuntime _runtime;
    private readonly string _listener;
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly ReadDeadline _downstreamDeadline = new();
    private readonly ReadDeadline _upstreamDeadline = new();
    private readonly byte[] _clientAddress;
    private volatile bool _idle;

    public HttpConnectionManager(ConnectionContext context, ProxyRuntime runtime, string listener)
    {
        _context = context;
        _runtime = runtime;
        _listener = listener;
        _input = context.Transport.Input;
        _output = context.Transport.Output;
        _clientAddress = FormatAddress(context.RemoteEndPoint);
    }

    /// <summary>Closes the connection if it is between requests (drain); busy ones close after their response.</summary>
    public void CloseIfIdle()
    {
        if (_idle) _downstreamDeadline.Fire();
    }

    public async Task RunAsync()
    {
        _runtime.Heartbeat.Register(_downstreamDeadline);
        _runtime.Heartbeat.Register(_upstreamDeadline);
        _runtime.Connections.TryAdd(this, 0);
        ProxyMetrics.DownstreamActive.Inc();
        ProxyMetrics.DownstreamTotal.Inc();
        try
        {
            while (!_runtime.Draining)
            {
                ProxySnapshot snapshot = _runtime.Snapshot;
                if (!await WaitForRequestAsync(snapshot).ConfigureAwait(false)) break;
                HttpExchange exchange = _runtime.Exchanges.Get();
                bool keepAlive;
                try
                {
                    keepAlive = await ProcessRequestAsync(exchange, snapshot).ConfigureAwait(false);
                }
                finally
                {
                    _runtime.Exchanges.Return(exchange);
                }
                if (!keepAlive) break;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e)
        {
            ProxyLog.ConnectionFailed(_runtime.Logger, e);
        }
        finally
        {
            _runtime.Heartbeat.Unregister(_downstreamDeadline);
            _runtime.Heartbeat.Unregister(_upstreamDeadline);
            _runtime.Connections.TryRemove(this, out _);
            ProxyMetrics.DownstreamActive.Dec();
            await CloseAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Waits, holding no buffer, for the first byte of the next request (idle timeout, drain).</summary>
    private async ValueTask<bool> WaitForRequestAsync(ProxySnapshot snapshot)
    {
        _downstreamDeadline.Arm(_input, snapshot.IdleTimeoutMs);
        _idle = true;
        if (_runtime.Draining) _downstreamDeadline.Fire();
        try
        {
            ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled) return false;
            bool hasData = !result.Buffer.IsEmpty;
            _input.AdvanceTo(result.Buffer.Start, hasData ? result.Buffer.Start : result.Buffer.End);
            return hasData;
        }
        finally
        {
            _idle = false;
            _downstreamDeadline.Disarm();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ProcessRequestAsync(HttpExchange exchange, ProxySnapshot snapshot)
    {
        HttpRequestHead request = exchange.Request;
        long started = Stopwatch.GetTimestamp();
        DateTime startUtc = DateTime.UtcNow;

        // 1. Request head, under the header-read timeout.
        RequestRejectionReason rejection = await ReadRequestHeadAsync(request, snapshot).ConfigureAwait(false);
        if (rejection != RequestRejectionReason.None)
        {
            if (rejection == RequestRejectionReason.UnexpectedEndOfBody) return false; // closed mid-head: no one to answer
            ProxyError error = _downstreamDeadline.TimedOut ? ProxyError.DownstreamTimeout : ProxyError.DownstreamProtocolError;
            int status = error == ProxyError.DownstreamTimeout ? 408 : RejectionStatus(rejection);
            await SendLocalAsync(status, ProxyErrors.Body(error), close: true, headOnly: false).ConfigureAwait(false);
            Complete(exchange, snapshot, null, null, status, ProxyErrors.Flag(error), 0, 0, started, startUtc, default);
            return false;
        }

        // 2. Route: virtual host by authority, then path prefix.
        snapshot.Routes.TryGetValue(_listener, out RouteTable? table);
        VirtualHost? vhost = table?.MatchHost(request.Authority);
        Route? route = vhost?.Match(request.PathOnly);
        if (route is null)
        {
            return await LocalReplyAsync(exchange, snapshot, vhost, null, ProxyError.NoRoute, started, startUtc).ConfigureAwait(false);
        }
        Cluster cluster = route.Cluster;

        // 3. Upstream: pick an endpoint, lease a connection, forward. A reused connection that turns out to be dead
        //    before a byte of response is retried once on a fresh one when the request can be sent again safely.
        ForwardOutcome outcome = default;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            UpstreamEndpoint? endpoint = cluster.LoadBalancer.Pick(new LoadBalancerContext { Attempt = attempt });
            if (endpoint is null)
                return await LocalReplyAsync(exchange, snapshot, vhost, cluster, ProxyError.NoHealthyUpstream, started, startUtc).ConfigureAwait(false);
            PoolLease lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false);
            if (lease.Connection is null)
                return await LocalReplyAsync(exchange, snapshot, vhost, cluster, lease.Error, started, startUtc, endpoint).ConfigureAwait(false);

            outcome = await ForwardAsync(exchange, snapshot, route, endpoint, lease.Connection).ConfigureAwait(false);
            bool retryable = outcome.Error == ProxyError.UpstreamReset && lease.Reused && !outcome.RequestBodyStarted
                             && HttpMethods.IsIdempotent(request.Method);
            if (!retryable || attempt == 1) break;
            exchange.Response.Reset();
        }

        if (outcome.Error != ProxyError.None && !outcome.ResponseStarted)
        {
            bool closeAfter = outcome.RequestBodyStarted && !outcome.RequestBodyDone;
            return await LocalReplyAsync(exchange, snapshot, vhost, cluster, outcome.Error, started, startUtc, outcome.Endpoint,
                forceClose: closeAfter, bytesReceived: outcome.BytesReceived).ConfigureAwait(false);
        }
        Complete(exchange, snapshot, vhost, cluster, exchange.Response.StatusCode, ProxyErrors.Flag(outcome.Error),
            outcome.BytesReceived, outcome.BytesSent, started, startUtc, outcome.Endpoint);
        return outcome.KeepDownstream;
    }

    private struct ForwardOutcome
    {
        public ProxyError Error;
        public bool ResponseStarted;
        public bool RequestBodyStarted;
        public bool RequestBodyDone;
        public bool KeepDownstream;
        public long BytesReceived;
        public long BytesSent;
        public UpstreamEndpoint? Endpoint;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ForwardOutcome> ForwardAsync(HttpExchange exchange, ProxySnapshot snapshot, Route route,
        UpstreamEndpoint endpoint, UpstreamConnection upstream)
    {
        HttpRequestHead request = exchange.Request;
        HttpResponseHead response = exchange.Response;
        var outcome = new ForwardOutcome { Endpoint = endpoint };
        bool upstreamReusable = false;
        ValueTask<BodyCopyResult> upload = default;
        bool uploading = false;
        try
        {
            WriteForwardedHead(exchange, snapshot, endpoint, upstream.Output);
            if (request.HasBody)
            {
                outcome.RequestBodyStarted = true;
                if (request.ExpectContinue)
                {
                    _output.Write(ContinueResponse);
                    await _output.FlushAsync().ConfigureAwait(false);
                }
                BodyFraming uploadFraming = request.Framing == BodyFraming.Chunked ? BodyFraming.Chunked : BodyFraming.ContentLength;
                upload = Http1BodyCopier.CopyAsync(_input, upstream.Output, request.Framing, request.ContentLength, uploadFraming,
                    exchange.RequestTrailers, _downstreamDeadline, snapshot.StreamIdleTimeoutMs, snapshot.HeadLimits);
                uploading = true;
            }
            else
            {
                FlushResult flushed = await upstream.Output.FlushAsync().ConfigureAwait(false);
                if (flushed.IsCompleted) { outcome.Error = ProxyError.UpstreamReset; return outcome; }
            }

            // Response head, under the route timeout. 1xx interim answers other than 101 are consumed here: the proxy
            // answered Expect itself, and HTTP/1.0 clients cannot receive them.
            ProxyError headError;
            while (true)
            {
                headError = await ReadResponseHeadAsync(upstream, response, request.Method, route.TimeoutMs).ConfigureAwait(false);
                if (headError != ProxyError.None || response.StatusCode >= 200 || response.StatusCode == 101) break;
                response.Reset();
            }
            if (headError != ProxyError.None)
            {
                outcome.Error = headError;
                if (uploading) outcome = await FinishUploadAsync(upload, outcome, abort: true).ConfigureAwait(false);
                uploading = false;
                return outcome;
            }

            if (response.StatusCode == 101 && request.IsUpgrade)
            {
                if (uploading) outcome = await FinishUploadAsync(upload, outcome, abort: false).ConfigureAwait(false);
                uploading = false;
                outcome.ResponseStarted = true;
                await RelayUpgradeAsync(upstream, response).ConfigureAwait(false);
                outcome.KeepDownstream = false;
                return outcome;
            }

            // Response head and body to the client.
            BodyFraming outFraming = response.Framing switch
            {
                BodyFraming.None => BodyFraming.None,
                BodyFraming.ContentLength => BodyFraming.ContentLength,
                _ => request.Version == HttpVersion.Http11 ? BodyFraming.Chunked : BodyFraming.UntilClose,
            };
            bool closeDownstream = !request.KeepAlive || _runtime.Draining || outFraming == BodyFraming.UntilClose
                                   || (uploading && !upload.IsCompleted && response.StatusCode >= 300);
            ReadOnlySpan<byte> connection = closeDownstream ? "close"u8
                : request.Version == HttpVersion.Http10 ? "keep-alive"u8 : default;
            Http1HeadWriter.WriteResponseHead(_output, response, outFraming, connection, switchingProtocols: false);
            outcome.ResponseStarted = true;

            BodyCopyResult download = await Http1BodyCopier.CopyAsync(upstream.Input, _output, response.Framing, response.ContentLength,
                outFraming, request.Version == HttpVersion.Http11 ? exchange.ResponseTrailers : null, _upstreamDeadline,
                snapshot.StreamIdleTimeoutMs, snapshot.HeadLimits).ConfigureAwait(false);
            outcome.BytesSent = download.Bytes;
            if (download.Status != BodyCopyStatus.Ok)
            {
                outcome.Error = download.Status switch
                {
                    BodyCopyStatus.OutputFailed => ProxyError.DownstreamReset,
                    BodyCopyStatus.TimedOut => ProxyError.StreamIdleTimeout,
                    BodyCopyStatus.InputInvalid => ProxyError.UpstreamProtocolError,
                    _ => ProxyError.UpstreamReset,
                };
                // The client has a partial response it cannot tell from a whole one: the connection must close.
                if (uploading) outcome = await FinishUploadAsync(upload, outcome, abort: true).ConfigureAwait(false);
                uploading = false;
                outcome.KeepDownstream = false;
                return outcome;
            }

            if (uploading)
            {
                // An origin may answer before reading the whole body (e.g. 413); the rest of the body is then unread
                // and the client connection cannot be reused.
                outcome = await FinishUploadAsync(upload, outcome, abort: !upload.IsCompleted).ConfigureAwait(false);
                uploading = false;
            }
            upstreamReusable = response.KeepAlive && (!request.HasBody || outcome.RequestBodyDone);
            outcome.KeepDownstream = !closeDownstream && (!request.HasBody || outcome.RequestBodyDone);
            return outcome;
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
        {
            if (outcome.Error == ProxyError.None) outcome.Error = outcome.ResponseStarted ? ProxyError.DownstreamReset : ProxyError.UpstreamReset;
            if (uploading) outcome = await FinishUploadAsync(upload, outcome, abort: true).ConfigureAwait(false);
            outcome.KeepDownstream = false;
            return outcome;
        }
        finally
        {
            _upstreamDeadline.Disarm();
            if (upstreamReusable) upstream.Pool.Release(upstream);
            else upstream.Close();
        }
    }

    private async ValueTask<ForwardOutcome> FinishUploadAsync(ValueTask<BodyCopyResult> upload, ForwardOutcome outcome, bool abort)
    {
        if (abort && !upload.IsCompleted) _downstreamDeadline.Fire();
        BodyCopyResult result = await upload.ConfigureAwait(false);
        outcome.BytesReceived = result.Bytes;
        outcome.RequestBodyDone = result.Status == BodyCopyStatus.Ok;
        if (!outcome.RequestBodyDone)
        {
            outcome.KeepDownstream = false;
            if (outcome.Error == ProxyError.None)
            {
                outcome.Error = result.Status switch
                {
                    BodyCopyStatus.InputInvalid => ProxyError.DownstreamProtocolError,
                    BodyCopyStatus.OutputFailed => ProxyError.UpstreamReset,
                    BodyCopyStatus.TimedOut => ProxyError.StreamIdleTimeout,
                    _ => ProxyError.DownstreamReset,
                };
            }
        }
        return outcome;
    }

    private void WriteForwardedHead(HttpExchange exchange, ProxySnapshot snapshot, UpstreamEndpoint endpoint, PipeWriter upstream)
    {
        HttpRequestHead request = exchange.Request;
        ReadOnlySpan<byte> requestId;
        if (request.RequestIdIndex >= 0)
        {
            requestId = request.Headers.Value(request.Headers[request.RequestIdIndex]);
        }
        else
        {
            Guid.NewGuid().TryFormat(exchange.GeneratedRequestId, out int n, "D");
            requestId = exchange.GeneratedRequestId.AsSpan(0, n);
        }
        var fwd = new ForwardedFields
        {
            ClientAddress = _clientAddress,
            Scheme = SchemeHttp,
            RequestId = requestId,
            Via = snapshot.Via,
            FallbackHost = endpoint.NameUtf8,
        };
        BodyFraming framing = request.Framing;
        Http1HeadWriter.WriteRequestHead(upstream, request, framing, in fwd);
    }

    private async ValueTask<RequestRejectionReason> ReadRequestHeadAsync(HttpRequestHead request, ProxySnapshot snapshot)
    {
        var handler = new Http1RequestHandler(request);
        var state = new Http1HeadParseState();
        _downstreamDeadline.Arm(_input, snapshot.HeaderReadTimeoutMs);
        try
        {
            while (true)
            {
                ReadResult result = await _input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled) return RequestRejectionReason.InvalidRequestLine; // header-read timeout
                ReadOnlySequence<byte> buffer = result.Buffer;
                Http1ParseResult parsed = ParseHead(buffer, ref handler, ref state, snapshot.HeadLimits, out SequencePosition consumed,
                    out RequestRejectionReason reason);
                if (parsed == Http1ParseResult.Complete)
                {
                    _input.AdvanceTo(consumed);
                    return handler.Complete();
                }
                if (parsed == Http1ParseResult.Error)
                {
                    _input.AdvanceTo(consumed);
                    return reason;
                }
                _input.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted) return RequestRejectionReason.UnexpectedEndOfBody;
            }
        }
        finally
        {
            _downstreamDeadline.Disarm();
        }
    }

    private static Http1ParseResult ParseHead<THandler>(in ReadOnlySequence<byte> buffer, ref THandler handler,
        ref Http1HeadParseState state, in Http1Limits limits, out SequencePosition consumed, out RequestRejectionReason reason)
        where THandler : struct, IHttp1HeadHandler
    {
        var reader = new SequenceReader<byte>(buffer);
        Http1ParseResult result = Http1Parser.ParseHead(ref reader, ref handler, ref state, in limits, out reason);
        consumed = reader.Position;
        return result;
    }

    private async ValueTask<ProxyError> ReadResponseHeadAsync(UpstreamConnection upstream, HttpResponseHead response,
        HttpMethod method, long timeoutMs)
    {
        var handler = new Http1ResponseHandler(response);
        var state = new Http1HeadParseState();
        PipeReader input = upstream.Input;
        _upstreamDeadline.Arm(input, timeoutMs);
        try
        {
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ConnectionResetException or ObjectDisposedException or InvalidOperationException)
                {
                    return ProxyError.UpstreamReset;
                }
                if (result.IsCanceled) return ProxyError.UpstreamTimeout;
                ReadOnlySequence<byte> buffer = result.Buffer;
                // Response heads are bounded like request heads: an origin cannot make the proxy buffer without limit.
                Http1ParseResult parsed = ParseHead(buffer, ref handler, ref state, Http1Limits.Default with { MaxHeaderCount = 1000 },
                    out SequencePosition consumed, out _);
                if (parsed == Http1ParseResult.Complete)
                {
                    input.AdvanceTo(consumed);
                    return handler.Complete(method) == RequestRejectionReason.None ? ProxyError.None : ProxyError.UpstreamProtocolError;
                }
                if (parsed == Http1ParseResult.Error)
                {
                    input.AdvanceTo(consumed);
                    return ProxyError.UpstreamProtocolError;
                }
                input.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted) return ProxyError.UpstreamReset;
            }
        }
        finally
        {
            _upstreamDeadline.Disarm();
        }
    }

    /// <summary>After 101: bytes both ways until either side closes (WebSocket and other upgrades).</summary>
    private async Task RelayUpgradeAsync(UpstreamConnection upstream, HttpResponseHead response)
    {
        Http1HeadWriter.WriteResponseHead(_output, response, BodyFraming.None, "upgrade"u8, switchingProtocols: true);
        await _output.FlushAsync().ConfigureAwait(false);
        Task up = PumpAsync(_input, upstream.Output);
        Task down = PumpAsync(upstream.Input, _output);
        await Task.WhenAny(up, down).ConfigureAwait(false);
        // One side finished: close the other so its pump ends too.
        upstream.Close();
        await _input.CompleteAsync().ConfigureAwait(false);
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    private static async Task PumpAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            while (true)
            {
                ReadResult result = await from.ReadAsync().ConfigureAwait(false);
                foreach (ReadOnlyMemory<byte> segment in result.Buffer) to.Write(segment.Span);
                from.AdvanceTo(result.Buffer.End);
                FlushResult flushed = await to.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled || flushed.IsCompleted) return;
            }
        }
        catch (Exception)
        {
            // Either side resetting ends the tunnel.
        }
    }

    private async ValueTask<bool> LocalReplyAsync(HttpExchange exchange, ProxySnapshot snapshot, VirtualHost? vhost, Cluster? cluster,
        ProxyError error, long started, DateTime startUtc, UpstreamEndpoint? endpoint = null, bool forceClose = false, long bytesReceived = 0)
    {
        HttpRequestHead request = exchange.Request;
        // The request body (if any) was not read: the connection cannot carry another request.
        bool close = forceClose || request.HasBody || !request.KeepAlive || _runtime.Draining;
        int status = ProxyErrors.Status(error);
        await SendLocalAsync(status, ProxyErrors.Body(error), close, request.Method == HttpMethod.Head).ConfigureAwait(false);
        Complete(exchange, snapshot, vhost, cluster, status, ProxyErrors.Flag(error), bytesReceived, 0, started, startUtc, endpoint);
        return !close;
    }

    private ValueTask<FlushResult> SendLocalAsync(int status, ReadOnlySpan<byte> body, bool close, bool headOnly)
    {
        Http1HeadWriter.WriteLocalResponse(_output, status, ProxyErrors.Reason(status), "text/plain"u8, body, close, headOnly);
        return _output.FlushAsync();
    }

    private void Complete(HttpExchange exchange, ProxySnapshot snapshot, VirtualHost? vhost, Cluster? cluster, int status,
        ResponseFlags flags, long bytesReceived, long bytesSent, long started, DateTime startUtc, UpstreamEndpoint? endpoint)
    {
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        (cluster?.Stats ?? _runtime.NoClusterStats).Record(status, ms);
        if (flags != ResponseFlags.None) ProxyMetrics.ResponseFlagsTotal.WithLabels(flags.ToString()).Inc();

        AccessLogger? log = _runtime.AccessLog;
        if (log is null) return;
        HttpRequestHead request = exchange.Request;
        HttpHeaderBlock headers = request.Headers;
        ReadOnlySpan<byte> requestId = request.RequestIdIndex >= 0 ? headers.Value(headers[request.RequestIdIndex])
            : exchange.GeneratedRequestId[0] != 0 ? exchange.GeneratedRequestId : default;
        var record = new AccessLogRecord
        {
            StartUtc = startUtc,
            Method = request.MethodLength > 0 ? request.MethodBytes : default,
            Path = request.PathLength > 0 ? request.Path : default,
            Authority = request.Authority,
            Status = status,
            Flags = flags,
            BytesReceived = bytesReceived,
            BytesSent = bytesSent,
            DurationMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            UpstreamHost = endpoint is null ? default : endpoint.NameUtf8,
            Cluster = cluster is null ? default : cluster.NameUtf8,
            VirtualHost = vhost is null ? default : vhost.NameUtf8,
            RequestId = requestId,
            ClientAddress = _clientAddress,
        };
        log.Log(in record);
        exchange.GeneratedRequestId[0] = 0;
    }

    private static int RejectionStatus(RequestRejectionReason reason) => reason switch
    {
        RequestRejectionReason.RequestLineTooLong => 414,
        RequestRejectionReason.HeadersTooLarge or RequestRejectionReason.TooManyHeaders => 431,
        RequestRejectionReason.UnsupportedVersion => 505,
        RequestRejectionReason.UnsupportedTransferCoding or RequestRejectionReason.MethodNotSupported => 501,
        _ => 400,
    };

    private static byte[] FormatAddress(EndPoint? endPoint)
    {
        if (endPoint is not IPEndPoint ip) return "unknown"u8.ToArray();
        Span<byte> buffer = stackalloc byte[64];
        IPAddress address = ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address;
        return address.TryFormat(buffer, out int n) ? buffer[..n].ToArray() : "unknown"u8.ToArray();
    }

    private async ValueTask CloseAsync()
    {
        try
        {
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch
        {
            // Best effort: the peer may already be gone.
        }
        try
        {
            await _input.CompleteAsync().ConfigureAwait(false);
            await _output.CompleteAsync().ConfigureAwait(false);
        }
        catch
        {
        }
    }
}
