// Per-request state (request head, response head, trailers, request id), pooled so a keep-alive request allocates
// nothing, and held only while a request is in flight: an idle connection owns none of it.
using FastPath.Http;
using Microsoft.Extensions.ObjectPool;

namespace FastPath.Filters.Network;

internal sealed class HttpExchange
{
    public readonly HttpRequestHead Request = new();
    public readonly HttpResponseHead Response = new();
    public readonly HttpHeaderBlock RequestTrailers = new();
    public readonly HttpHeaderBlock ResponseTrailers = new();
    public readonly byte[] GeneratedRequestId = new byte[RequestIdGenerator.Length];

    public void Reset()
    {
        Request.Reset();
        Response.Reset();
        RequestTrailers.Clear();
        ResponseTrailers.Clear();
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
