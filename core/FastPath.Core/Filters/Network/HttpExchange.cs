// Per-request state (request head, response head, trailers, request id), pooled so a keep-alive request allocates
// nothing, and held only while a request is in flight: an idle connection owns none of it.
using System.Buffers;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;
using FastPath.Routing;
using FastPath.Security;
using FastPath.Security.Authentication;
using FastPath.Security.Authorization;
using FastPath.Upstream;
using FastPath.Upstream.Clusters;
using FastPath.Upstream.Retry;
using Microsoft.Extensions.ObjectPool;

namespace FastPath.Filters.Network;

internal sealed class HttpExchange
{
    private readonly HttpRequestHead _ownRequest = new();
    /// <summary>The request head: the exchange's own (HTTP/1.1 parses into it) or an HTTP/2 stream's for its lifetime.</summary>
    public HttpRequestHead Request { get; private set; }
    public readonly HttpResponseHead Response = new();
    public readonly HttpHeaderBlock RequestTrailers = new();
    public readonly HttpHeaderBlock ResponseTrailers = new();
    public readonly byte[] GeneratedRequestId = new byte[RequestIdGenerator.Length];
    /// <summary>The route's rewritten path or redirect Location, built here; grows rarely and stays with the exchange.</summary>
    public byte[] RouteScratch = [];
    /// <summary>This request's HTTP filters (rented per stream from the route's factories) and their resume point.</summary>
    public readonly HttpFilterManager Filters = new();
    public readonly RetryState Retry = new();
    /// <summary>The request body as sent upstream, kept for a retry when the route has a retry policy.</summary>
    public readonly BodyReplayBuffer ReplayBuffer = new();
    /// <summary>The request as sent to an HTTP/2 origin (rewrites and forwarding fields applied); unused for HTTP/1.1.</summary>
    public readonly HttpRequestHead UpstreamRequest = new();
    /// <summary>A request body decoded for an HTTP/2 origin, between reads and DATA writes; made on the exchange's first
    /// such upload and kept (an exchange goes back to the pool only once its upload ended).</summary>
    public ArrayBufferWriter<byte>? Http2UploadScratch;
    /// <summary>The request principal a verified JWT established (RequestAuthentication); null without one.</summary>
    public RequestIdentity? RequestIdentity;
    /// <summary>Why the request's JWT was refused, for the 401 body; None otherwise.</summary>
    public JwtFailure AuthenticationFailure;

    // Per-request parse and copy state lives here rather than in the connection's async state machine, whose box
    // every connection holds for its whole life, idle or not.
    public RequestOutcome Outcome;
    public Http1RequestHandler RequestParser;
    public Http1ResponseHandler ResponseParser;
    public Http1HeadParseState HeadState;
    public Http1BodyForwarder ResponseBody;

    public HttpExchange() => Request = _ownRequest;

    /// <summary>Serves a request whose head another codec owns (an HTTP/2 stream's, valid until the stream ends).</summary>
    public void UseRequest(HttpRequestHead head) => Request = head;

    public void Reset()
    {
        if (ReferenceEquals(Request, _ownRequest)) Request.Reset();
        else Request = _ownRequest; // the stream resets its own head when it is recycled
        Response.Reset();
        RequestTrailers.Clear();
        ResponseTrailers.Clear();
        Outcome = default;
        RequestParser = default;
        ResponseParser = default;
        HeadState = default;
        ResponseBody = default;
        Filters.End();
        Retry.End(); // gives back the request's breaker slots on every path, exceptions included
        ReplayBuffer.Reset();
        UpstreamRequest.Reset();
        RequestIdentity = null;
        AuthenticationFailure = JwtFailure.None;
    }

    internal sealed class Policy : PooledObjectPolicy<HttpExchange>
    {
        public override HttpExchange Create() => new();

        public override bool Return(HttpExchange obj)
        {
            obj.Reset();
            return true;
        }
    }

    /// <summary>Capacity covers the requests in flight at once; beyond it exchanges are simply collected.</summary>
    public static ObjectPool<HttpExchange> CreatePool() => new DefaultObjectPool<HttpExchange>(new Policy(), 4096);
}

/// <summary>What one request did, for stats and the access log.</summary>
internal struct RequestOutcome
{
    public int Status;
    public ProxyError Error;
    /// <summary>Flags that are not errors (DI: a delay was injected), added to the error's flag in the log.</summary>
    public ResponseFlags ExtraFlags;
    public bool KeepAlive;
    public long BytesReceived;
    public long BytesSent;
    public VirtualHost? VirtualHost;
    public Route? Route;
    public Cluster? Cluster;
    /// <summary>The weighted destination picked, when the route splits traffic (its per-destination headers).</summary>
    public WeightedCluster? Destination;
    public UpstreamEndpoint? Endpoint;
    /// <summary>The DENY policy that denied the request (null with AccessDenied: no ALLOW policy matched).</summary>
    public AuthorizationPolicy? DeniedBy;
    /// <summary>The first AUDIT policy the request matched.</summary>
    public AuthorizationPolicy? Audited;
}

