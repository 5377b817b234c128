// The terminal network filter for HTTP/1.1 (Envoy's HttpConnectionManager): one per downstream connection. It reads
// request heads with the Http1 codec, routes each request to a cluster, forwards it over a pooled upstream
// connection and streams the response back, answering locally (with a response flag) when anything fails.
//
// Every await of a keep-alive request without a body sits in RunAsync itself; the steps between awaits are
// synchronous methods. One async state machine per connection is therefore all a request costs: nested async
// methods would each box a state machine whenever they suspend (pooling builders only cache a few per core,
// far fewer than the requests in flight on a busy proxy).
using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net;
using FastPath.Config;
using FastPath.Filters.Http;
using FastPath.Grpc;
using FastPath.Http;
using FastPath.Http.Normalization;
using FastPath.Http1;
using FastPath.Http2;
using FastPath.LoadBalancing;
using FastPath.Observability.Logging;
using FastPath.Observability.Stats;
using FastPath.Routing;
using FastPath.Security;
using FastPath.Security.Authentication;
using FastPath.Security.Authorization;
using FastPath.Transport;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Pools;
using FastPath.Upstream.Retry;
using Microsoft.AspNetCore.Connections;
using HttpVersion = FastPath.Http.HttpVersion;

namespace FastPath.Filters.Network;

internal sealed partial class HttpConnectionManager
{
    private static ReadOnlySpan<byte> ContinueResponse => "HTTP/1.1 100 Continue\r\n\r\n"u8;
    private static ReadOnlySpan<byte> SchemeHttp => "http"u8;
    private static ReadOnlySpan<byte> SchemeHttps => "https"u8;

    // Response heads are bounded like request heads: an origin cannot make the proxy buffer without limit.
    private static readonly Http1Limits ResponseHeadLimits = Http1Limits.Default with { MaxHeaderCount = 1000 };

    // How often the response-head wait looks at a request body still being sent (the heartbeat's granularity).
    private const long UploadPollMs = 100;


    private readonly ProxyRuntime _runtime;
    private readonly string _listener;
    // The request's input and the response's output: the connection's pipes for HTTP/1.1; in stream mode the input
    // is the stream's body reader and responses go out as frames (_output unused).
    private PipeReader _input;
    private readonly PipeWriter _output;
    private readonly IDuplexPipe _transport = null!;
    private readonly ReadDeadline _downstreamDeadline = new();
    private readonly ReadDeadline _upstreamDeadline = new();
    private readonly byte[] _clientAddress;
    private readonly ConnectionContext? _connection; // null in stream mode (an HTTP/2 stream has no socket of its own)
    private ISocketBacklogFeature? _backlog; // asked for when a request body first needs it (see SocketBacklog)
    private readonly DownstreamTls? _tls;
    // The connection's addresses, for authorization: resolved at the first policy check, once per connection (the
    // local end is a getsockname on the epoll transport, which a connection without policies never needs).
    private ConnectionAddresses _addresses;
    private bool _addressesKnown;
    private volatile bool _idle;
    private UpstreamEndpoint? _activeEndpoint;
    // The request body copy of the exchange in flight: if the connection fails while it still runs, that exchange
    // (which the copy writes into: trailers, replay buffer, filter taps) must not go back to the pool for reuse.
    private Task<BodyCopyResult>? _upload;

    /// <param name="tls">What TLS termination established for this connection; null on plaintext.</param>
    public HttpConnectionManager(ConnectionContext context, ProxyRuntime runtime, string listener, DownstreamTls? tls = null)
    {
        _tls = tls;
        _runtime = runtime;
        _listener = listener;
        _transport = context.Transport;
        _input = context.Transport.Input;
        _output = context.Transport.Output;
        _clientAddress = FormatAddress(context.RemoteEndPoint);
        _connection = context;
    }

    /// <summary>The connection's source and destination (an HTTP/2 stream's are its connection's).</summary>
    internal ref readonly ConnectionAddresses Addresses
    {
        get
        {
            if (_owner is not null) return ref _owner.AddressSource.Addresses;
            if (!Volatile.Read(ref _addressesKnown))
            {
                // Streams of one connection may race here: each computes the same value.
                _addresses = ConnectionAddresses.From(_connection!);
                Volatile.Write(ref _addressesKnown, true);
            }
            return ref _addresses;
        }
    }

    /// <summary>Called by the heartbeat through ProxyRuntime: one registration per connection covers both deadlines.</summary>
    public void CheckDeadlines(long now)
    {
        _downstreamDeadline.Check(now);
        _upstreamDeadline.Check(now);
        _h2?.CheckDeadlines(now);
    }

    /// <summary>Closes the connection if it is between requests (drain); busy ones close after their response. An
    /// HTTP/2 connection starts its graceful GOAWAY instead.</summary>
    public void CloseIfIdle()
    {
        if (_h2 is not null) _h2.BeginDrain();
        else if (_idle) _downstreamDeadline.FireIfArmed();
    }

    public async Task RunAsync()
    {
        if (_owner is null)
        {
            _runtime.Connections.TryAdd(this, 0);
            ProxyMetrics.DownstreamActive.Inc();
            ProxyMetrics.DownstreamTotal.Inc();
        }
        HttpExchange? exchange = null;
        UpstreamConnection? upstream = null;
        try
        {
            bool firstRequest = true;
            while (_owner is not null || !_runtime.Draining)
            {
                ProxySnapshot snapshot = _runtime.Snapshot;
                ReadResult read;
                HttpRequestHead request;
                long started;
                DateTime startUtc;
                if (_owner is not null)
                {
                    // HTTP/2 stream mode: the connection hands over the next stream, its head complete and validated.
                    Http2Stream? next = await NextStreamAsync().ConfigureAwait(false);
                    if (next is null) break;
                    _stream = next;
                    _input = next.RequestBody;
                    snapshot = _runtime.Snapshot;
                    exchange = _runtime.Exchanges.Get();
                    exchange.UseRequest(next.RequestHead);
                    request = exchange.Request;
                    // The HTTP/1.1 writer frames the body itself (content-length from the head, or chunked), as it
                    // does for a parsed HTTP/1.1 request whose framing fields the parser set aside.
                    request.Headers.SkipByName("content-length"u8);
                    started = Stopwatch.GetTimestamp();
                    if (snapshot.RequestTimeoutMs > 0) _downstreamDeadline.SetCap(PassClock.NowMs + snapshot.RequestTimeoutMs);
                    startUtc = _runtime.AccessLog is null ? default : DateTime.UtcNow;
                    // 2a. As for HTTP/1.1: the path is normalised before anything reads it; one that cannot be is a 400.
                    if (!PathNormalizer.TryNormalize(request, snapshot.PathNormalization)) exchange.Outcome.Error = ProxyError.DownstreamProtocolError;
                }
                else
                {
                    if (firstRequest && _tls?.ApplicationProtocol == "h2")
                    {
                        await RunHttp2Async(_transport).ConfigureAwait(false);
                        break;
                    }

                    // 1. Wait, holding no buffer, for the first byte of the next request (idle timeout, drain).
                    _downstreamDeadline.Arm(_input, snapshot.IdleTimeoutMs);
                    _idle = true;
                    if (_runtime.Draining) _downstreamDeadline.Fire();
                    read = await _input.ReadAsync().ConfigureAwait(false);
                    _idle = false;
                    bool arrived = !read.IsCanceled && !read.Buffer.IsEmpty;
                    if (arrived && firstRequest && _tls is null)
                    {
                        // h2c with prior knowledge (RFC 9113 §3.3): the connection opens with the HTTP/2 preface.
                        bool? h2 = StartsWithHttp2Preface(read.Buffer);
                        while (h2 is null && !read.IsCompleted && !read.IsCanceled)
                        {
                            _input.AdvanceTo(read.Buffer.Start, read.Buffer.End);
                            read = await _input.ReadAsync().ConfigureAwait(false);
                            h2 = read.IsCanceled ? false : StartsWithHttp2Preface(read.Buffer);
                        }
                        if (h2 == true)
                        {
                            _input.AdvanceTo(read.Buffer.Start);
                            _downstreamDeadline.Disarm();
                            await RunHttp2Async(_transport).ConfigureAwait(false);
                            break;
                        }
                        arrived = !read.IsCanceled && !read.Buffer.IsEmpty;
                    }
                    firstRequest = false;
                    _input.AdvanceTo(read.Buffer.Start); // end the read before disarming, so a stale cancel can be cleared
                    _downstreamDeadline.Disarm();
                    if (!arrived) break;
                    // A reload while the connection sat idle applies to this request: a rotated JWKS or a new policy must
                    // not wait for keep-alive connections to close.
                    snapshot = _runtime.Snapshot;

                    exchange = _runtime.Exchanges.Get();
                    request = exchange.Request;
                    started = Stopwatch.GetTimestamp();
                    // request_timeout bounds every client read of this request (head and body); 0 leaves it off.
                    if (snapshot.RequestTimeoutMs > 0) _downstreamDeadline.SetCap(PassClock.NowMs + snapshot.RequestTimeoutMs);
                    startUtc = _runtime.AccessLog is null ? default : DateTime.UtcNow;

                    // 2. Request head, under the header-read timeout.
                    exchange.RequestParser = new Http1RequestHandler(request);
                    RequestRejectionReason rejection;
                    _downstreamDeadline.Arm(_input, snapshot.HeaderReadTimeoutMs);
                    while (true)
                    {
                        read = await _input.ReadAsync().ConfigureAwait(false);
                        if (read.IsCanceled)
                        {
                            _input.AdvanceTo(read.Buffer.Start);
                            rejection = RequestRejectionReason.InvalidRequestLine;
                            break;
                        }
                        Http1ParseResult parsed = ParseHead(_input, read, ref exchange.RequestParser, ref exchange.HeadState, snapshot.HeadLimits, out rejection);
                        if (parsed == Http1ParseResult.Complete) rejection = exchange.RequestParser.Complete();
                        if (parsed != Http1ParseResult.Incomplete) break;
                        if (read.IsCompleted)
                        {
                            rejection = RequestRejectionReason.UnexpectedEndOfBody;
                            break;
                        }
                    }
                    _downstreamDeadline.Disarm();
                    // 2a. (issue 4) The path is normalised once, in place, before anything reads it: routing, authorization
                    //     and the origin all see the same path. One that cannot be normalised safely is a bad request.
                    if (rejection == RequestRejectionReason.None && !PathNormalizer.TryNormalize(request, snapshot.PathNormalization))
                        rejection = RequestRejectionReason.InvalidRequestTarget;
                    if (rejection != RequestRejectionReason.None)
                    {
                        if (rejection == RequestRejectionReason.UnexpectedEndOfBody) break; // closed mid-head: no one to answer
                        exchange.Outcome.Error = _downstreamDeadline.TimedOut ? ProxyError.DownstreamTimeout : ProxyError.DownstreamProtocolError;
                        exchange.Outcome.Status = exchange.Outcome.Error == ProxyError.DownstreamTimeout ? 408 : RejectionStatus(rejection);
                        WriteLocal(exchange.Outcome.Status, ProxyErrors.Body(exchange.Outcome.Error), close: true, headOnly: false);
                        await _output.FlushAsync().ConfigureAwait(false);
                        Complete(exchange, started, startUtc);
                        break;
                    }
                }

                // The request id exists from here on: a weighted route picks by it, and the origin and the log see it.
                if (request.RequestIdIndex < 0) RequestIdGenerator.Write(exchange.GeneratedRequestId);

                // 2b. (issue 4) Request authentication (JWT; the path was normalised in 2a), then authorization, before
                //     routing. A refused request is answered below without a route.
                if (snapshot.Authenticator is { } authenticator
                    && (exchange.AuthenticationFailure = authenticator.Authenticate(request, out exchange.RequestIdentity)) != JwtFailure.None)
                    exchange.Outcome.Error = ProxyError.AuthenticationFailed;

                // Authorization (Istio AuthorizationPolicy), the last stage before routing: a denial answers 403.
                if (snapshot.Authorization is { } authz && exchange.Outcome.Error == ProxyError.None)
                    HttpAuthorizationStage.Check(authz, exchange, in Addresses, _tls);

                // 3. Route: virtual host by authority, then the first route whose match holds; its action gives the
                //    cluster (a weighted pick keyed by the request id) or a local reply (redirect, direct response).
                //    A request a stage before answered (an authorization denial) is not routed.
                bool answered = exchange.Outcome.Error != ProxyError.None;
                snapshot.Routes.TryGetValue(_listener, out RouteTable? table);
                exchange.Outcome.VirtualHost = table?.MatchHost(request.Authority);
                Route? route = exchange.Outcome.Error == ProxyError.None ? exchange.Outcome.VirtualHost?.Match(request) : null;
                exchange.Outcome.Route = route;
                Cluster? cluster = route?.PickCluster(RequestId(exchange), out exchange.Outcome.Destination);
                exchange.Outcome.Cluster = cluster;
                if (exchange.Outcome.Error != ProxyError.None) { } // refused before routing (2b)
                else if (route is null) exchange.Outcome.Error = ProxyError.NoRoute;
                else if (cluster is null) exchange.Outcome.Error = ProxyError.LocalReply;

                // 3b. HTTP filters (Filters/Http) on the request head, once the route is chosen and before an endpoint is
                //     picked. The router is not one of them: it is the forwarding below, the chain's terminal stage. Only
                //     a filter that stops makes this await, on the exchange's pooled value-task source (no allocation).
                if (route?.Filters is HttpFilterChain chain)
                {
                    HttpFilterManager filters = exchange.Filters;
                    filters.Begin(chain, request, exchange.Response, _clientAddress);
                    while (filters.DecodeHeaders() == FilterHeadersStatus.StopIteration && !filters.HasLocalReply)
                        await filters.WaitAsync().ConfigureAwait(false);
                    exchange.Outcome.ExtraFlags |= filters.ExtraFlags;
                    if (filters.HasLocalReply)
                    {
                        exchange.Outcome.Error = filters.LocalReplyError;
                        route = null; // answered by a filter: nothing to forward
                    }
                }

                // Per-destination headers (a weighted split's version-specific changes) follow the route's.
                if (route is not null) exchange.Outcome.Destination?.RequestHeaders?.Apply(request.Headers);

                // 4. Forward. A reused connection found dead before any response byte is retried once on a fresh one
                //    when the request can be sent again safely (the origin may close an idle connection at any time).
                //    A route's retry policy retries more (Envoy semantics): only before any response byte reached the
                //    client, after a jittered back-off, on another endpoint when there is one, and a request body only
                //    when it was read whole into the replay buffer. The route's circuit breakers bound it all.
                // The route timeout, or a gRPC call's own deadline (grpc-timeout) when that is shorter.
                long timeoutMs = route?.TimeoutMs ?? 0;
                if (route is not null && request.Version == HttpVersion.Http2) timeoutMs = GrpcTimeoutMs(request, timeoutMs);
                Task<BodyCopyResult>? upload = null;
                bool responseStarted = false;
                ulong hashKey = 0;
                bool hasHashKey = cluster is not null && cluster.HashKind != HashPolicyKind.None
                                  && RequestHashKey.TryCompute(cluster, request, _clientAddress, out hashKey);
                RetryState retry = exchange.Retry;
                if (route is not null && cluster is not null && !retry.Begin(cluster, route.Retry)) exchange.Outcome.Error = ProxyError.UpstreamOverflow;
                if (route?.Retry is not null) request.Headers.SkipByName("x-envoy-attempt-count"u8); // ours replaces the client's
                bool bodyStarted = false;
                for (int attempt = 0; route is not null && cluster is not null && exchange.Outcome.Error == ProxyError.None; attempt++)
                {
                    if (retry.BackoffMs > 0)
                    {
                        // Back-off on a timer (no thread waits), cut short by the route timeout, which spans all tries.
                        long wait = retry.TakeBackoff(PassClock.NowMs);
                        if (wait > 0) await Task.Delay((int)Math.Min(wait, int.MaxValue)).ConfigureAwait(false);
                    }
                    if (retry.DeadlinePassed(PassClock.NowMs))
                    {
                        exchange.Outcome.Error = ProxyError.UpstreamTimeout;
                        break;
                    }
                    UpstreamEndpoint? endpoint = Pick(cluster, attempt, hashKey, hasHashKey, retry.AvoidEndpoint);
                    exchange.Outcome.Endpoint = endpoint;
                    if (endpoint is null)
                    {
                        exchange.Outcome.Error = ProxyError.NoHealthyUpstream;
                        break;
                    }
                    // An HTTP/2 cluster opens a stream on a multiplexed connection; HTTP/1.1 leases a whole connection.
                    // Protocol auto follows what the origin chose in ALPN on the endpoint's latest new connection.
                    Http2ConnectionPool? h2Pool = endpoint.Pool.Http2Now;
                    PoolLease lease = default;
                    Http2StreamLease h2Lease = default;
                    int attemptCount = retry.Policy is null ? 0 : attempt + 1;
                    if (h2Pool is null)
                    {
                        lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false);
                        if (lease.Http2Selected) h2Pool = endpoint.Pool.Http2;
                    }
                    if (h2Pool is not null)
                    {
                        BuildHttp2UpstreamHead(exchange, snapshot, endpoint, route, attemptCount);
                        h2Lease = await h2Pool.OpenStreamAsync(exchange.UpstreamRequest, endStream: !request.HasBody).ConfigureAwait(false);
                        if (h2Lease.Http11Selected)
                        {
                            h2Pool = null;
                            lease = await endpoint.Pool.AcquireAsync().ConfigureAwait(false);
                            // An origin flipping between protocols connection by connection: this try fails over.
                            if (lease.Http2Selected) lease = new PoolLease(null, ProxyError.UpstreamConnectFailure, false);
                        }
                    }
                    if (h2Pool is null ? lease.Connection is null : h2Lease.Stream is null)
                    {
                        ProxyError failed = h2Pool is null ? lease.Error : h2Lease.Error;
                        endpoint.ReportOutcome(failed, 0); // outlier detection: a connect failure counts, overflow does not
                        exchange.Outcome.Error = failed;
                        // Nothing of the body was read yet (it is read while sent), so it can still go anywhere.
                        if (retry.ShouldRetryError(failed, !bodyStarted || retry.BodyBuffered, endpoint,
                                PassClock.NowMs, out bool exhausted))
                        {
                            exchange.Outcome.Error = ProxyError.None;
                            continue;
                        }
                        if (exhausted) exchange.Outcome.ExtraFlags |= ResponseFlags.URX;
                        break;
                    }
                    upstream = lease.Connection;
                    _upStream = h2Lease.Stream;
                    bool reused = lease.Reused;
                    BeginAttempt(endpoint);

                    if (upstream is not null) WriteForwardedHead(exchange, snapshot, endpoint, upstream.Output, route, attemptCount);
                    long sentAt = Stopwatch.GetTimestamp();
                    if (request.HasBody && !bodyStarted)
                    {
                        bodyStarted = true;
                        if (request.ExpectContinue)
                        {
                            _output.Write(ContinueResponse);
                            await _output.FlushAsync().ConfigureAwait(false);
                        }
                        BodyReplayBuffer? replay = null;
                        if (retry.Policy is not null)
                        {
                            replay = exchange.ReplayBuffer;
                            if (upstream is not null) replay.Begin(upstream.Output, retry.Policy.BufferLimitBytes);
                            else replay.BeginRecording(retry.Policy.BufferLimitBytes);
                        }
                        // An HTTP/2 stream's body arrives unframed (DATA frames) and ends with the stream, its trailers
                        // in the stream; HTTP/1.1 to the origin frames it by content-length, or chunked with trailers.
                        BodyFraming inFraming = _stream is null ? request.Framing : BodyFraming.UntilClose;
                        HttpHeaderBlock trailersIn = RequestTrailers(exchange);
                        _upload = upload = upstream is not null
                            ? Http1BodyCopier.CopyAsync(_input, upstream.Output, inFraming, request.ContentLength,
                                request.Framing == BodyFraming.Chunked ? BodyFraming.Chunked : BodyFraming.ContentLength,
                                trailersIn, _downstreamDeadline, snapshot.StreamIdleTimeoutMs, snapshot.HeadLimits,
                                _backlog ??= _connection is null ? null : SocketBacklog.Of(_connection), exchange.Filters.RequestBodyTap, replay)
                            : Http2UpstreamBody.CopyAsync(_input, inFraming, request.ContentLength, trailersIn, _upStream!, _downstreamDeadline,
                                snapshot.StreamIdleTimeoutMs, snapshot.HeadLimits, exchange.Filters.RequestBodyTap, replay,
                                exchange.Http2UploadScratch ??= new ArrayBufferWriter<byte>(16 * 1024));
                    }
                    else if (upstream is not null)
                    {
                        // A retry sends the buffered body again (framing included); the client is not read again.
                        if (request.HasBody) upstream.Output.Write(exchange.ReplayBuffer.Written);
                        FlushResult flushed = await FlushUpstreamAsync(upstream).ConfigureAwait(false);
                        if (flushed.IsCompleted) exchange.Outcome.Error = ProxyError.UpstreamReset;
                    }
                    else if (request.HasBody)
                    {
                        // A retry over HTTP/2: the recorded raw body again, then the request's trailers, which the
                        // first try's upload kept (HTTP/1.1 retries replay them inside the recorded chunked framing).
                        HttpHeaderBlock trailers = RequestTrailers(exchange);
                        ReadOnlyMemory<byte> body = exchange.ReplayBuffer.WrittenMemory;
                        bool sent = (body.IsEmpty && trailers.Count > 0)
                                    || await _upStream!.WriteDataAsync(body, endStream: trailers.Count == 0).ConfigureAwait(false);
                        if (sent && trailers.Count > 0) sent = await _upStream!.WriteTrailersAsync(trailers).ConfigureAwait(false);
                        if (!sent) exchange.Outcome.Error = ProxyError.UpstreamReset;
                    }

                    // 5. Response head, under the route timeout. As in Envoy, the route timeout starts once the request
                    //    is complete: while the body still flows, the read wakes every UploadPollMs to see whether the
                    //    upload ended (then the timeout starts) or failed (then the exchange ends at once with its
                    //    error instead of waiting for an origin that will never answer). Interim 1xx answers other
                    //    than 101 are dropped: the proxy answered Expect itself, and HTTP/1.0 clients cannot take them.
                    HttpResponseHead response = exchange.Response;
                    if (exchange.Outcome.Error == ProxyError.None && _upStream is not null)
                    {
                        // HTTP/2 origin: the engine assembles the head; the deadline wakes the wait (upload poll, timeout).
                        bool uploading = upload is not null;
                        while (true)
                        {
                            if (uploading && upload!.IsCompleted)
                            {
                                BodyCopyResult sent = upload.Result;
                                if (sent.Status != BodyCopyStatus.Ok)
                                {
                                    Apply(sent, ref exchange.Outcome);
                                    break;
                                }
                                uploading = false;
                                _upstreamDeadline.Arm(_wakeHeadWait, retry.TryTimeoutMs(timeoutMs, PassClock.NowMs));
                            }
                            else if (!_upstreamDeadline.IsArmed)
                            {
                                _upstreamDeadline.Arm(_wakeHeadWait, uploading ? UploadPollMs : retry.TryTimeoutMs(timeoutMs, PassClock.NowMs));
                            }
                            if (await _upStream.ReadResponseHeadAsync().ConfigureAwait(false))
                            {
                                long now = Stopwatch.GetTimestamp();
                                endpoint.Latency.Record(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds, now);
                                break;
                            }
                            if (_upStream.IsAborted || _upStream.State == Http2StreamState.Closed)
                            {
                                exchange.Outcome.Error = _upStream.ResetCode == Http2ErrorCode.REFUSED_STREAM
                                    ? ProxyError.UpstreamRefusedStream : ProxyError.UpstreamReset;
                                break;
                            }
                            if (_upstreamDeadline.TimedOut && !uploading)
                            {
                                exchange.Outcome.Error = ProxyError.UpstreamTimeout;
                                break;
                            }
                            // Woken to look at the upload: the top of the loop decides what next.
                        }
                        _upstreamDeadline.Disarm();
                        if (exchange.Outcome.Error == ProxyError.None) CopyHttp2ResponseHead(_upStream.ResponseHead, response, request);
                    }
                    else if (exchange.Outcome.Error == ProxyError.None && upstream is not null)
                    {
                        bool uploading = upload is not null;
                        exchange.ResponseParser = new Http1ResponseHandler(response);
                        exchange.HeadState = default;
                        while (true)
                        {
                            if (uploading && upload!.IsCompleted)
                            {
                                BodyCopyResult sent = upload.Result;
                                if (sent.Status != BodyCopyStatus.Ok)
                                {
                                    Apply(sent, ref exchange.Outcome);
                                    break;
                                }
                                uploading = false;
                                _upstreamDeadline.Arm(upstream.Input, retry.TryTimeoutMs(timeoutMs, PassClock.NowMs));
                            }
                            else if (!_upstreamDeadline.IsArmed)
                            {
                                _upstreamDeadline.Arm(upstream.Input, uploading ? UploadPollMs : retry.TryTimeoutMs(timeoutMs, PassClock.NowMs));
                            }
                            try
                            {
                                read = await upstream.Input.ReadAsync().ConfigureAwait(false);
                            }
                            catch (Exception e) when (IsConnectionError(e))
                            {
                                exchange.Outcome.Error = ProxyError.UpstreamReset;
                                break;
                            }
                            if (read.IsCanceled)
                            {
                                if (!uploading)
                                {
                                    exchange.Outcome.Error = ProxyError.UpstreamTimeout;
                                    break;
                                }
                                upstream.Input.AdvanceTo(read.Buffer.Start);
                                continue; // the deadline fired (disarming itself): the top of the loop decides what next
                            }
                            Http1ParseResult parsed = ParseHead(upstream.Input, read, ref exchange.ResponseParser, ref exchange.HeadState, ResponseHeadLimits, out _);
                            if (parsed == Http1ParseResult.Incomplete)
                            {
                                if (!read.IsCompleted) continue;
                                exchange.Outcome.Error = ProxyError.UpstreamReset;
                                break;
                            }
                            if (parsed == Http1ParseResult.Error || exchange.ResponseParser.Complete(request.Method) != RequestRejectionReason.None)
                            {
                                exchange.Outcome.Error = ProxyError.UpstreamProtocolError;
                                break;
                            }
                            if (response.StatusCode == 101 && _stream is not null)
                            {
                                exchange.Outcome.Error = ProxyError.UpstreamProtocolError; // HTTP/2 has no 101 (RFC 9113 §8.6)
                                break;
                            }
                            if (response.StatusCode >= 200 || response.StatusCode == 101)
                            {
                                // Time to the response head feeds peak-EWMA balancing (Linkerd's latency signal).
                                long now = Stopwatch.GetTimestamp();
                                endpoint.Latency.Record(Stopwatch.GetElapsedTime(sentAt, now).TotalMilliseconds, now);
                                break;
                            }
                            response.Reset();
                            exchange.ResponseParser = new Http1ResponseHandler(response);
                            exchange.HeadState = default;
                        }
                        _upstreamDeadline.Disarm();
                    }

                    // Outlier detection hears each attempt's result once: failures now, a good head once its body is
                    // through (an origin that cuts the body after a 200 fails too, as in Envoy).
                    bool reportAfterBody = exchange.Outcome.Error == ProxyError.None && response.StatusCode < 500;
                    if (!reportAfterBody) endpoint.ReportOutcome(exchange.Outcome.Error, response.StatusCode);
                    bool safeRetry = exchange.Outcome.Error == ProxyError.UpstreamReset && reused && !request.HasBody
                                     && HttpMethods.IsIdempotent(request.Method) && !retry.SafeRetryUsed;
                    if (exchange.Outcome.Error != ProxyError.None)
                    {
                        CloseUpstream(ref upstream);
                        bool exhausted = false;
                        if (safeRetry) retry.SafeRetryUsed = true;
                        else if (retry.Policy is not null)
                            safeRetry = retry.ShouldRetryError(exchange.Outcome.Error, BodyReplayable(exchange, upload), endpoint,
                                PassClock.NowMs, out exhausted);
                        if (safeRetry)
                        {
                            EndAttempt();
                            exchange.Outcome.Error = ProxyError.None;
                            response.Reset();
                            // The first try's upload read the whole body; its last flush ends with the closed connection.
                            if (upload is not null) TakeBody(await upload.ConfigureAwait(false), exchange);
                            upload = null;
                            continue;
                        }
                        if (exhausted) exchange.Outcome.ExtraFlags |= ResponseFlags.URX;
                        break;
                    }

                    // A response the policy retries is dropped unseen (its head was not written): the connection
                    // closes, as the rest of that response will not be read.
                    if (retry.Policy is not null && response.StatusCode != 101)
                    {
                        if (retry.ShouldRetryStatus(response.StatusCode, retry.Policy.HasGrpcConditions ? GrpcStatusIn(response.Headers) : -1,
                                BodyReplayable(exchange, upload), endpoint,
                                PassClock.NowMs, out bool exhausted))
                        {
                            if (reportAfterBody) endpoint.ReportOutcome(ProxyError.None, response.StatusCode);
                            CloseUpstream(ref upstream);
                            EndAttempt();
                            response.Reset();
                            if (upload is not null) TakeBody(await upload.ConfigureAwait(false), exchange);
                            upload = null;
                            continue;
                        }
                        if (exhausted) exchange.Outcome.ExtraFlags |= ResponseFlags.URX;
                    }

                    // 6. Upgrade: after 101 the connection is a two-way byte relay until either side closes.
                    if (response.StatusCode == 101 && request.IsUpgrade && upstream is not null)
                    {
                        endpoint.ReportOutcome(ProxyError.None, 101);
                        if (upload is not null) Apply(await upload.ConfigureAwait(false), ref exchange.Outcome);
                        upload = null;
                        responseStarted = true;
                        exchange.Outcome.Status = 101;
                        Http1HeadWriter.WriteResponseHead(_output, response, BodyFraming.None, "upgrade"u8, switchingProtocols: true);
                        await _output.FlushAsync().ConfigureAwait(false);
                        _downstreamDeadline.SetCap(long.MaxValue); // the request is complete; the tunnel is not bounded by it
                        UpstreamConnection tunnel = upstream;
                        upstream = null;
                        await RelayAsync(tunnel).ConfigureAwait(false);
                        exchange.Outcome.KeepAlive = false;
                        break;
                    }

                    // 7. Response head and body to the client; the filters see the head first, last filter first.
                    exchange.Outcome.Destination?.ResponseHeaders?.Apply(response.Headers);
                    while (exchange.Filters.IsActive && exchange.Filters.EncodeHeaders() == FilterHeadersStatus.StopIteration)
                        await exchange.Filters.WaitAsync().ConfigureAwait(false);
                    // HTTP/2 frames the body itself: the decoded body goes out raw in DATA frames, trailers in HEADERS.
                    BodyFraming outFraming = _stream is not null ? BodyFraming.UntilClose : response.Framing switch
                    {
                        BodyFraming.None => BodyFraming.None,
                        BodyFraming.ContentLength => BodyFraming.ContentLength,
                        _ => request.Version == HttpVersion.Http11 ? BodyFraming.Chunked : BodyFraming.UntilClose,
                    };
                    // An origin may answer before reading the whole request body (e.g. 413): what the client still
                    // sends cannot be told from a next request, so that connection closes.
                    bool close = _stream is null && (!request.KeepAlive || _runtime.Draining || outFraming == BodyFraming.UntilClose
                                 || (upload is not null && !upload.IsCompleted && response.StatusCode >= 300));
                    // From an HTTP/2 origin the body is raw DATA that ends with the stream, its trailers in the stream.
                    PipeReader upstreamInput = _upStream is not null ? _upStream.ResponseBody : upstream!.Input;
                    BodyFraming responseIn = _upStream is not null && response.Framing != BodyFraming.None ? BodyFraming.UntilClose : response.Framing;
                    exchange.ResponseBody = new Http1BodyForwarder(responseIn, response.ContentLength, outFraming,
                        request.Version is HttpVersion.Http11 or HttpVersion.Http2 ? exchange.ResponseTrailers : null, snapshot.HeadLimits,
                        exchange.Filters.ResponseBodyTap);
                    bool bodyEmpty = exchange.ResponseBody.IsEmpty; // before the body: IsEmpty also holds once it is all through
                    if (_stream is null)
                    {
                        ReadOnlySpan<byte> connection = close ? "close"u8 : request.Version == HttpVersion.Http10 ? "keep-alive"u8 : default;
                        Http1HeadWriter.WriteResponseHead(_output, response, outFraming, connection, switchingProtocols: false);
                    }
                    else if (!await _stream.WriteHeadersAsync(response, endStream: bodyEmpty).ConfigureAwait(false))
                    {
                        exchange.Outcome.Error = ProxyError.DownstreamReset;
                    }
                    responseStarted = true;
                    exchange.Outcome.Status = response.StatusCode;

                    BodyStep step = BodyStep.Done;
                    IBufferWriter<byte> bodyOutput = _stream is null ? _output : _h2Body!;
                    if (bodyEmpty || exchange.Outcome.Error != ProxyError.None)
                    {
                        if (_stream is null) exchange.ResponseBody.WriteEmpty(_output);
                    }
                    else
                    {
                        // While the request body still flows (an origin that answers as it reads, such as an echo),
                        // the read also wakes every UploadPollMs: an upload that failed (the client went) ends the
                        // exchange then, instead of waiting on an origin that waits for the rest of that body.
                        bool uploading = upload is not null && !upload.IsCompleted;
                        long idleDeadline = PassClock.NowMs + snapshot.StreamIdleTimeoutMs;
                        // The route timeout (or the call's shorter grpc-timeout) bounds the whole response, not only
                        // its head (Envoy): it caps every read below. It starts once the request is complete, so a
                        // body still being uploaded starts it when that ends.
                        long responseDeadline = uploading ? 0 : CapResponse(retry, timeoutMs);
                        _upstreamDeadline.Arm(upstreamInput, uploading ? UploadPollMs : snapshot.StreamIdleTimeoutMs);
                        // Bytes of the response consumed so far, and how far the kernel's last answer reaches (see
                        // SocketBacklog.MoreWaiting): whether more is already here is asked once per burst.
                        long bodyConsumed = 0, knownUntil = 0;
                        while (true)
                        {
                            try
                            {
                                read = await upstreamInput.ReadAsync().ConfigureAwait(false);
                            }
                            catch (Exception e) when (IsConnectionError(e))
                            {
                                step = BodyStep.InputEnded;
                                break;
                            }
                            if (read.IsCanceled)
                            {
                                long now = PassClock.NowMs;
                                if (uploading && upload!.IsCompleted && upload.Result.Status != BodyCopyStatus.Ok)
                                {
                                    exchange.Outcome.Error = UploadError(upload.Result.Status);
                                    break;
                                }
                                if (responseDeadline != 0 && now >= responseDeadline)
                                {
                                    exchange.Outcome.Error = ProxyError.UpstreamTimeout;
                                    break;
                                }
                                if (uploading && now < idleDeadline)
                                {
                                    uploading = !upload!.IsCompleted;
                                    if (!uploading) responseDeadline = CapResponse(retry, timeoutMs);
                                    upstreamInput.AdvanceTo(read.Buffer.Start);
                                    _upstreamDeadline.Arm(upstreamInput, uploading ? Math.Min(UploadPollMs, idleDeadline - now) : idleDeadline - now);
                                    continue;
                                }
                                exchange.Outcome.Error = ProxyError.StreamIdleTimeout;
                                break;
                            }
                            idleDeadline = PassClock.NowMs + snapshot.StreamIdleTimeoutMs;
                            // An upload that finished well needs no more polling; one that failed ends at the next poll.
                            if (uploading && upload!.IsCompleted && upload.Result.Status == BodyCopyStatus.Ok)
                            {
                                uploading = false;
                                responseDeadline = CapResponse(retry, timeoutMs);
                            }
                            _upstreamDeadline.Extend(uploading ? UploadPollMs : snapshot.StreamIdleTimeoutMs);
                            ReadOnlySequence<byte> buffer = read.Buffer;
                            if (read.IsCompleted && _upStream is not null) CopyFields(_upStream.ResponseTrailers, exchange.ResponseTrailers);
                            step = exchange.ResponseBody.Step(buffer, read.IsCompleted, bodyOutput, out SequencePosition consumed);
                            if (step == BodyStep.NeedMore)
                            {
                                long observed = SocketBacklog.Observed(ref bodyConsumed, buffer, consumed);
                                upstreamInput.AdvanceTo(consumed, buffer.End);
                                if (_stream is not null)
                                {
                                    if (_h2Body!.WrittenCount < SocketBacklog.MaxUnflushedBytes && upstream?.MoreWaiting(observed, ref knownUntil) == true) continue;
                                    bool sent = _h2Body.WrittenCount == 0
                                                || await _stream.WriteDataAsync(_h2Body.WrittenMemory, endStream: false).ConfigureAwait(false);
                                    _h2Body.Clear();
                                    if (!sent)
                                    {
                                        exchange.Outcome.Error = ProxyError.DownstreamReset;
                                        break;
                                    }
                                    continue;
                                }
                                // More of the body is already in the socket: read it before sending, so the client
                                // gets one send for what arrived together (bounded by MaxUnflushedBytes).
                                if (_output.UnflushedBytes < SocketBacklog.MaxUnflushedBytes && upstream?.MoreWaiting(observed, ref knownUntil) == true) continue;
                                FlushResult f = await _output.FlushAsync().ConfigureAwait(false);
                                if (f.IsCompleted)
                                {
                                    exchange.Outcome.Error = ProxyError.DownstreamReset;
                                    break;
                                }
                                continue;
                            }
                            upstreamInput.AdvanceTo(consumed);
                            break;
                        }
                        _upstreamDeadline.Disarm();
                        _upstreamDeadline.SetCap(long.MaxValue);
                        if (exchange.Outcome.Error == ProxyError.None && step != BodyStep.Done)
                            exchange.Outcome.Error = step == BodyStep.Invalid ? ProxyError.UpstreamProtocolError : ProxyError.UpstreamReset;
                    }
                    if (reportAfterBody)
                    {
                        // The client going away is not the origin's failure; a body it cut or broke is.
                        ProxyError bodyError = exchange.Outcome.Error is ProxyError.UpstreamReset or ProxyError.UpstreamProtocolError
                            ? exchange.Outcome.Error : ProxyError.None;
                        endpoint.ReportOutcome(bodyError, bodyError == ProxyError.None ? response.StatusCode : 0);
                    }
                    exchange.Outcome.BytesSent = exchange.ResponseBody.Bytes;
                    if (exchange.Outcome.Error == ProxyError.None && _stream is null)
                    {
                        FlushResult f = await _output.FlushAsync().ConfigureAwait(false);
                        if (f.IsCompleted) exchange.Outcome.Error = ProxyError.DownstreamReset;
                    }
                    else if (exchange.Outcome.Error == ProxyError.None && !bodyEmpty)
                    {
                        // The rest of the body ends the stream, unless trailers follow and end it (gRPC's status).
                        bool trailers = exchange.ResponseTrailers.Count > 0;
                        bool sent = (_h2Body!.WrittenCount == 0 && trailers)
                                    || await _stream!.WriteDataAsync(_h2Body.WrittenMemory, endStream: !trailers).ConfigureAwait(false);
                        _h2Body.Clear();
                        if (sent && trailers) sent = await _stream!.WriteTrailersAsync(exchange.ResponseTrailers).ConfigureAwait(false);
                        if (!sent) exchange.Outcome.Error = ProxyError.DownstreamReset;
                    }
                    else if (exchange.Outcome.Error != ProxyError.None && _stream is not null)
                    {
                        // A response cut short cannot be told from a whole one unless the stream says so (Envoy resets
                        // it). A gRPC call past its deadline ends with DEADLINE_EXCEEDED in trailers instead: a reset
                        // would reach the client as CANCELLED or INTERNAL, hiding that the deadline ran out.
                        if (exchange.Outcome.Error != ProxyError.UpstreamTimeout || !IsGrpc(request)
                            || !await WriteGrpcErrorTrailersAsync(exchange).ConfigureAwait(false))
                            _stream.Reset(Http2ErrorCode.INTERNAL_ERROR);
                    }

                    if (upload is not null)
                    {
                        // Still reading the body after the whole response: the origin answered early; stop the body.
                        StopUpload(upload);
                        Apply(await upload.ConfigureAwait(false), ref exchange.Outcome);
                        upload = null;
                        close |= exchange.Outcome.Error != ProxyError.None || exchange.Outcome.BytesReceived < 0;
                    }
                    // The client has a partial response it cannot tell from a whole one if anything failed: close.
                    exchange.Outcome.KeepAlive = !close && exchange.Outcome.Error == ProxyError.None;
                    if (upstream is not null && exchange.Outcome.Error == ProxyError.None && response.KeepAlive)
                    {
                        upstream.Pool.Release(upstream);
                        upstream = null;
                    }
                    // An HTTP/1.1 connection not released closes; an HTTP/2 stream ends (reset if not read through).
                    CloseUpstream(ref upstream);
                    break;
                }

                EndAttempt();
                if (upload is not null)
                {
                    // The request failed before the response: stop reading the client's body; it cannot be reused.
                    StopUpload(upload);
                    Apply(await upload.ConfigureAwait(false), ref exchange.Outcome);
                    upload = null;
                    exchange.Outcome.KeepAlive = false;
                }
                if (exchange.Outcome.Error != ProxyError.None && !responseStarted)
                {
                    // The request body (if any) was not read to its end: the connection cannot carry another request.
                    bool close = request.HasBody || !request.KeepAlive || _runtime.Draining;
                    // Whoever answers, the response side of the filters runs on the reply (a 429 or a redirect still carries
                    // the CORS and response_headers a client needs): a filter's reply, a route's redirect or direct
                    // response, or the proxy's own error.
                    HttpFilterManager filters = exchange.Filters;
                    bool routeReply = !filters.HasLocalReply && exchange.Outcome.Error == ProxyError.LocalReply && route is not null;
                    exchange.Outcome.Status = filters.HasLocalReply ? filters.LocalReplyStatus
                        : routeReply ? RouteActions.ReplyStatus(route!) : ProxyErrors.Status(exchange.Outcome.Error);
                    if (filters.IsActive) filters.EncodeLocalReply(exchange.Outcome.Status);
                    bool headOnly = request.Method == HttpMethod.Head;
                    if (_stream is not null)
                    {
                        bool unauthenticated = exchange.Outcome.Error == ProxyError.AuthenticationFailed;
                        if (routeReply) PrepareHttp2RouteReply(exchange, route!, filters.LocalReplyHeaders, headOnly);
                        else PrepareHttp2LocalReply(exchange, exchange.Outcome.Status,
                            filters.HasLocalReply ? filters.LocalReplyBody
                                : unauthenticated ? JwtFailures.Body(exchange.AuthenticationFailure) : ProxyErrors.Body(exchange.Outcome.Error),
                            unauthenticated ? JwtFailures.WwwAuthenticate : filters.LocalReplyHeaders, headOnly);
                        exchange.Outcome.BytesSent = _h2Body!.WrittenCount;
                        // What the client got: a gRPC call's failure is a 200 whose grpc-status says it (Envoy logs
                        // the same); the error stays in the response flags.
                        exchange.Outcome.Status = exchange.Response.StatusCode;
                        bool sent = await _stream.WriteHeadersAsync(exchange.Response, endStream: _h2Body.WrittenCount == 0).ConfigureAwait(false);
                        if (sent && _h2Body.WrittenCount > 0) sent = await _stream.WriteDataAsync(_h2Body.WrittenMemory, endStream: true).ConfigureAwait(false);
                        _h2Body.Clear();
                        exchange.Outcome.KeepAlive = sent;
                    }
                    else
                    {
                        if (routeReply)
                        {
                            WriteRouteReply(exchange, route!, close, filters.LocalReplyHeaders);
                            exchange.Outcome.BytesSent = headOnly || route!.DirectResponse is null ? 0 : route.DirectResponse.Body.Length;
                        }
                        else
                        {
                            bool unauthenticated = exchange.Outcome.Error == ProxyError.AuthenticationFailed;
                            ReadOnlySpan<byte> body = filters.HasLocalReply ? filters.LocalReplyBody
                                : unauthenticated ? JwtFailures.Body(exchange.AuthenticationFailure) : ProxyErrors.Body(exchange.Outcome.Error);
                            WriteLocal(exchange.Outcome.Status, body, close, headOnly,
                                unauthenticated ? JwtFailures.WwwAuthenticate : filters.LocalReplyHeaders);
                            exchange.Outcome.BytesSent = headOnly ? 0 : body.Length;
                        }
                        FlushResult f = await _output.FlushAsync().ConfigureAwait(false);
                        exchange.Outcome.KeepAlive = !close && !f.IsCompleted;
                    }
                }

                Complete(exchange, started, startUtc);
                _downstreamDeadline.SetCap(long.MaxValue);
                _upstreamDeadline.SetCap(long.MaxValue);
                bool keepAlive = exchange.Outcome.KeepAlive;
                _runtime.Exchanges.Return(exchange);
                exchange = null;
                if (_owner is not null)
                {
                    EndStream();
                    continue;
                }
                if (!keepAlive) break;
            }
        }
        catch (Exception e) when (IsConnectionError(e) || e is OperationCanceledException)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e)
        {
            ProxyLog.ConnectionFailed(_runtime.Logger, e);
        }
        finally
        {
            EndAttempt();
            CloseUpstream(ref upstream);
            if (exchange is not null && _upload is not { IsCompleted: false }) _runtime.Exchanges.Return(exchange);
            if (_owner is null)
            {
                _runtime.Connections.TryRemove(this, out _);
                ProxyMetrics.DownstreamActive.Dec();
                await CloseAsync().ConfigureAwait(false);
            }
            else
            {
                // A stream processor that failed: its stream ends (reset) and the processor is not reused.
                _dead = true;
                _owner.Remove(this);
                if (_stream is not null)
                {
                    _stream.Reset(Http2ErrorCode.INTERNAL_ERROR);
                    _stream = null;
                    _done.SetResult(true);
                }
            }
        }
    }

    /// <summary>Where the request's trailers are read into: an HTTP/2 stream's own, or the exchange's (chunked HTTP/1.1).</summary>
    private HttpHeaderBlock RequestTrailers(HttpExchange exchange) => _stream is null ? exchange.RequestTrailers : _stream.RequestTrailers;

    /// <summary>Starts the route timeout if it has not started and caps the response's reads at it; 0: none.</summary>
    private long CapResponse(RetryState retry, long timeoutMs)
    {
        long deadline = retry.StartDeadline(timeoutMs, PassClock.NowMs);
        if (deadline != 0) _upstreamDeadline.SetCap(deadline);
        return deadline;
    }

    /// <summary>Counts the request against its endpoint while an upstream exchange is in flight (least-request and
    /// peak-EWMA balancing read the count).</summary>
    private void BeginAttempt(UpstreamEndpoint endpoint)
    {
        Interlocked.Increment(ref endpoint.ActiveRequests);
        _activeEndpoint = endpoint;
    }

    private void EndAttempt()
    {
        if (_activeEndpoint is not { } endpoint) return;
        Interlocked.Decrement(ref endpoint.ActiveRequests);
        _activeEndpoint = null;
    }

    /// <summary>
    /// The endpoint for a try. A retry avoids the endpoint that just failed (Envoy's previous_hosts predicate): a
    /// few re-picks through the policy (a consistent-hash key moved each time), then the next healthy endpoint in
    /// the cluster's list, so a retry reaches another endpoint whenever one is up; with none, the same one again.
    /// </summary>
    private static UpstreamEndpoint? Pick(Cluster cluster, int attempt, ulong hashKey, bool hasHashKey, UpstreamEndpoint? avoid)
    {
        UpstreamEndpoint? endpoint = cluster.LoadBalancer.Pick(new LoadBalancerContext { Attempt = attempt, HashKey = hashKey, HasHashKey = hasHashKey });
        UpstreamEndpoint[] all = cluster.Endpoints;
        if (avoid is null || !ReferenceEquals(endpoint, avoid) || all.Length < 2) return endpoint;
        for (int i = 1; i <= 3 && ReferenceEquals(endpoint, avoid); i++)
        {
            endpoint = cluster.LoadBalancer.Pick(new LoadBalancerContext
            {
                Attempt = attempt, HashKey = hashKey + (ulong)i * 0x9E3779B97F4A7C15UL, HasHashKey = hasHashKey,
            });
        }
        if (!ReferenceEquals(endpoint, avoid)) return endpoint;
        int at = Array.IndexOf(all, avoid);
        for (int i = 1; i < all.Length; i++)
        {
            UpstreamEndpoint next = all[(at + i) % all.Length];
            if (next.Healthy && !ReferenceEquals(next, avoid)) return next;
        }
        return endpoint;
    }

    /// <summary>The grpc-status in a field block (a trailers-only response's head, or trailers); -1 without a valid one.</summary>
    private static int GrpcStatusIn(HttpHeaderBlock headers)
    {
        int i = headers.IndexOfName(GrpcProtocol.StatusName);
        return i >= 0 && GrpcProtocol.TryParseStatus(headers.Value(headers[i]), out int status) ? status : -1;
    }

    /// <summary>Whether the request can be sent again: no body, or all of it read into the replay buffer.</summary>
    private static bool BodyReplayable(HttpExchange exchange, Task<BodyCopyResult>? upload) =>
        !exchange.Request.HasBody || exchange.Retry.BodyBuffered || (upload is not null && exchange.ReplayBuffer.Replayable);

    /// <summary>
    /// Before a retry: the first try's upload has ended. The client's body was read whole (the replay buffer says
    /// so), whatever the last flush to the abandoned connection returned; retries send the buffer.
    /// </summary>
    private static void TakeBody(BodyCopyResult sent, HttpExchange exchange)
    {
        Apply(sent with { Status = BodyCopyStatus.Ok }, ref exchange.Outcome);
        exchange.Retry.BodyBuffered = true;
    }

    private static bool IsConnectionError(Exception e) =>
        e is IOException or ConnectionResetException or ObjectDisposedException or ConnectionAbortedException or InvalidOperationException;

    private static ValueTask<FlushResult> FlushUpstreamAsync(UpstreamConnection upstream)
    {
        try
        {
            return upstream.Output.FlushAsync();
        }
        catch (Exception e) when (IsConnectionError(e))
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: true));
        }
    }

    /// <summary>Parses what one read returned and advances the pipe (consumed lines only; all bytes examined).</summary>
    private static Http1ParseResult ParseHead<THandler>(PipeReader input, in ReadResult read, ref THandler handler,
        ref Http1HeadParseState state, in Http1Limits limits, out RequestRejectionReason reason)
        where THandler : struct, IHttp1HeadHandler
    {
        ReadOnlySequence<byte> buffer = read.Buffer;
        var reader = new SequenceReader<byte>(buffer);
        Http1ParseResult result = Http1Parser.ParseHead(ref reader, ref handler, ref state, in limits, out reason);
        if (result == Http1ParseResult.Incomplete) input.AdvanceTo(reader.Position, buffer.End);
        else input.AdvanceTo(reader.Position);
        return result;
    }

    /// <summary>Ends a request-body copy still waiting on the client (its read is cancelled as if timed out).</summary>
    private void StopUpload(Task<BodyCopyResult> upload)
    {
        if (!upload.IsCompleted) _downstreamDeadline.Fire();
    }

    private static void Apply(BodyCopyResult result, ref RequestOutcome outcome)
    {
        outcome.BytesReceived = result.Bytes;
        if (result.Status == BodyCopyStatus.Ok) return;
        outcome.KeepAlive = false;
        outcome.BytesReceived = -1 - result.Bytes; // marks an incomplete body; fixed up in Complete
        if (outcome.Error == ProxyError.None) outcome.Error = UploadError(result.Status);
    }

    private static ProxyError UploadError(BodyCopyStatus status) => status switch
    {
        BodyCopyStatus.InputInvalid => ProxyError.DownstreamProtocolError,
        BodyCopyStatus.OutputFailed => ProxyError.UpstreamReset,
        BodyCopyStatus.TimedOut => ProxyError.DownstreamTimeout,
        _ => ProxyError.DownstreamReset,
    };

    /// <summary>The request's usable x-request-id, or the one generated for it once its head was parsed.</summary>
    private static ReadOnlySpan<byte> RequestId(HttpExchange exchange)
    {
        HttpRequestHead request = exchange.Request;
        return request.RequestIdIndex >= 0 ? request.Headers.Value(request.Headers[request.RequestIdIndex]) : exchange.GeneratedRequestId;
    }

    private void WriteForwardedHead(HttpExchange exchange, ProxySnapshot snapshot, UpstreamEndpoint endpoint, PipeWriter upstream,
        Route route, int attemptCount)
    {
        ForwardedFields fwd = ForwardedFieldsFor(exchange, snapshot, endpoint, route, attemptCount);
        Http1HeadWriter.WriteRequestHead(upstream, exchange.Request, exchange.Request.Framing, in fwd);
    }

    /// <summary>What this try adds to and changes in the request, whichever protocol carries it upstream: the
    /// forwarding fields, the route's path and host rewrites (the path is written into the exchange's scratch).</summary>
    private ForwardedFields ForwardedFieldsFor(HttpExchange exchange, ProxySnapshot snapshot, UpstreamEndpoint endpoint, Route route, int attemptCount)
    {
        int rewritten = RouteActions.WriteRewrittenPath(route, exchange.Request.Path, ref exchange.RouteScratch);
        return new ForwardedFields
        {
            ClientAddress = _clientAddress,
            Scheme = _tls is null ? SchemeHttp : SchemeHttps,
            RequestId = RequestId(exchange),
            Via = snapshot.Via,
            FallbackHost = endpoint.NameUtf8,
            Path = exchange.RouteScratch.AsSpan(0, rewritten),
            Authority = route.Rewrite?.Host,
            AttemptCount = attemptCount,
        };
    }

    /// <summary>Answers for a route whose action is a redirect or a direct response, with the filters' reply headers.</summary>
    private void WriteRouteReply(HttpExchange exchange, Route route, bool close, ReadOnlySpan<byte> filterHeaders)
    {
        HttpRequestHead request = exchange.Request;
        bool headOnly = request.Method == HttpMethod.Head;
        if (route.Redirect is { } redirect)
        {
            int n = RouteActions.WriteLocationField(route, request.Path, request.Authority, ref exchange.RouteScratch);
            if (filterHeaders.Length > 0)
            {
                if (exchange.RouteScratch.Length < n + filterHeaders.Length) Array.Resize(ref exchange.RouteScratch, n + filterHeaders.Length);
                filterHeaders.CopyTo(exchange.RouteScratch.AsSpan(n));
                n += filterHeaders.Length;
            }
            Http1HeadWriter.WriteLocalResponse(_output, redirect.Status, RouteActions.Reason(redirect.Status), default, default,
                close, headOnly, exchange.RouteScratch.AsSpan(0, n));
            return;
        }
        RouteDirectResponse direct = route.DirectResponse!;
        Http1HeadWriter.WriteLocalResponse(_output, direct.Status, RouteActions.Reason(direct.Status),
            direct.Body.Length > 0 ? "text/plain"u8 : default, direct.Body, close, headOnly, filterHeaders);
    }

    /// <summary>After 101: bytes both ways until either side closes (WebSocket and other upgrades).</summary>
    private async Task RelayAsync(UpstreamConnection upstream)
    {
        Task up = PumpAsync(_input, upstream.Output);
        Task down = PumpAsync(upstream.Input, _output);
        await Task.WhenAny(up, down).ConfigureAwait(false);
        // One side finished: close the other so its pump ends too.
        upstream.Close();
        _downstreamDeadline.Fire();
        await Task.WhenAll(up, down).ConfigureAwait(false);
    }

    private async Task PumpAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            if (from == _input) _downstreamDeadline.Arm(from, 0);
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

    private void WriteLocal(int status, ReadOnlySpan<byte> body, bool close, bool headOnly, ReadOnlySpan<byte> extraHeaders = default) =>
        Http1HeadWriter.WriteLocalResponse(_output, status, ProxyErrors.Reason(status), body.IsEmpty ? default : "text/plain"u8, body, close, headOnly, extraHeaders);

    private void Complete(HttpExchange exchange, long started, DateTime startUtc)
    {
        ref RequestOutcome outcome = ref exchange.Outcome;
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (exchange.Outcome.BytesReceived < 0) exchange.Outcome.BytesReceived = -1 - exchange.Outcome.BytesReceived;
        (exchange.Outcome.Cluster?.Stats ?? _runtime.NoClusterStats).Record(exchange.Outcome.Status, ms);
        ResponseFlags flags = ProxyErrors.Flag(exchange.Outcome.Error) | exchange.Outcome.ExtraFlags;
        ProxyMetrics.CountFlags(flags);

        AccessLogger? log = _runtime.AccessLog;
        if (log is null) return;
        HttpRequestHead request = exchange.Request;
        HttpHeaderBlock headers = request.Headers;
        ReadOnlySpan<byte> requestId = request.RequestIdIndex >= 0 ? headers.Value(headers[request.RequestIdIndex])
            : exchange.GeneratedRequestId[0] != 0 ? exchange.GeneratedRequestId : default;
        AccessLogRecord record = LogRecord(request, startUtc, exchange.Outcome.Status, flags, _clientAddress, _tls);
        record.BytesReceived = exchange.Outcome.BytesReceived;
        record.BytesSent = exchange.Outcome.BytesSent;
        record.DurationMs = ms;
        record.UpstreamHost = exchange.Outcome.Endpoint is null ? default : exchange.Outcome.Endpoint.NameUtf8;
        record.Cluster = exchange.Outcome.Cluster is null ? default : exchange.Outcome.Cluster.NameUtf8;
        record.Route = exchange.Outcome.Route is null ? default : exchange.Outcome.Route.NameUtf8;
        record.VirtualHost = exchange.Outcome.VirtualHost is null ? default : exchange.Outcome.VirtualHost.NameUtf8;
        record.RequestId = requestId;
        record.ResponseCodeDetails = HttpAuthorizationStage.Details(in exchange.Outcome);
        record.AuditPolicy = HttpAuthorizationStage.AuditPolicy(in exchange.Outcome);
        // A gRPC call answers HTTP 200 whether it failed or not: its outcome is the grpc-status (trailers, or the
        // head of a trailers-only reply, the proxy's own included).
        if (IsGrpc(request))
        {
            int grpcStatus = GrpcStatusIn(exchange.ResponseTrailers);
            if (grpcStatus < 0) grpcStatus = GrpcStatusIn(exchange.Response.Headers);
            record.GrpcStatus = grpcStatus;
            record.HasGrpcStatus = grpcStatus >= 0;
        }
        log.Log(in record);
        exchange.GeneratedRequestId[0] = 0;
    }

    /// <summary>An access-log line's request and connection fields; the caller adds what the exchange knows.</summary>
    internal static AccessLogRecord LogRecord(HttpRequestHead request, DateTime startUtc, int status, ResponseFlags flags,
        byte[] clientAddress, DownstreamTls? tls) => new()
    {
        StartUtc = startUtc,
        Method = request.MethodLength > 0 ? request.MethodBytes : default,
        Path = request.PathLength > 0 ? request.Path : default,
        Authority = request.Authority,
        Status = status,
        Flags = flags,
        ClientAddress = clientAddress,
        PeerPrincipal = tls?.Peer is { } peer ? peer.PrincipalUtf8 : default,
    };

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
