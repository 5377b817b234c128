// The HTTP filter API (Envoy filter.h semantics, FastPath's own code). A filter sees a request's headers, body chunks
// and trailers in chain order, then the response's in reverse order. Each hook returns a status synchronously; a
// filter that must wait (a fault delay) returns StopIteration and later calls ContinueDecoding/ContinueEncoding or
// SendLocalReply on the stream, so only a filter that really waits makes the connection await (STYLE.md, hot path 6).
//
// The router is not a filter here: it stays the connection manager's terminal stage (route match, endpoint pick,
// forwarding, response streaming in HttpConnectionManager). The chain runs after the route is chosen and before an
// endpoint is picked, and again on the response head before it is written to the client.
using System.Buffers;
using FastPath.Http;
using Microsoft.Extensions.ObjectPool;

namespace FastPath.Filters.Http;

internal enum FilterHeadersStatus : byte
{
    /// <summary>Run the next filter.</summary>
    Continue = 0,
    /// <summary>Stop here; the filter resumes the stream later (Continue*) or answers it (SendLocalReply).</summary>
    StopIteration,
}

internal enum FilterDataStatus : byte
{
    Continue = 0,
    /// <summary>Stop passing this chunk on; the filter resumes the stream later.</summary>
    StopIteration,
}

internal enum FilterTrailersStatus : byte
{
    Continue = 0,
    StopIteration,
}

/// <summary>
/// One filter's state for one stream: a small sealed class rented from its factory's pool when the stream starts and
/// returned when it ends, so steady state allocates nothing. Hooks default to Continue.
/// </summary>
internal abstract class HttpFilter
{
    public virtual FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream) => FilterHeadersStatus.Continue;

    /// <summary>Only called when the factory sets <see cref="HttpFilterFactory.WantsRequestBody"/>.</summary>
    public virtual FilterDataStatus OnRequestData(HttpFilterManager stream, in ReadOnlySequence<byte> data, bool endStream) => FilterDataStatus.Continue;

    public virtual FilterTrailersStatus OnRequestTrailers(HttpFilterManager stream, HttpHeaderBlock trailers) => FilterTrailersStatus.Continue;

    public virtual FilterHeadersStatus OnResponseHeaders(HttpFilterManager stream) => FilterHeadersStatus.Continue;

    /// <summary>Only called when the factory sets <see cref="HttpFilterFactory.WantsResponseBody"/>.</summary>
    public virtual FilterDataStatus OnResponseData(HttpFilterManager stream, in ReadOnlySequence<byte> data, bool endStream) => FilterDataStatus.Continue;

    public virtual FilterTrailersStatus OnResponseTrailers(HttpFilterManager stream, HttpHeaderBlock trailers) => FilterTrailersStatus.Continue;

    /// <summary>Clears per-stream state before the instance goes back to its pool.</summary>
    public virtual void Reset()
    {
    }

    /// <summary>Gives this instance back to the factory that rented it.</summary>
    public abstract void Release();
}

/// <summary>
/// Built once when config loads, for one filter at one scope (virtual host or route), with that scope's merged
/// config; shared by every stream of the routes it serves (a virtual host's rate-limit bucket, for example).
/// </summary>
internal abstract class HttpFilterFactory
{
    /// <summary>Whether this filter needs the request body hooks; the chain computes its flag from these once.</summary>
    public virtual bool WantsRequestBody => false;

    public virtual bool WantsResponseBody => false;

    public abstract HttpFilter Rent();
}

/// <summary>A factory whose per-stream filters are pooled (lock-free, bounded): a warm pool hands out and takes back
/// instances without allocating.</summary>
internal abstract class PooledHttpFilterFactory<TFilter> : HttpFilterFactory where TFilter : HttpFilter
{
    private const int PoolCapacity = 1024;
    private readonly ObjectPool<TFilter> _pool;

    protected PooledHttpFilterFactory() => _pool = new DefaultObjectPool<TFilter>(new Policy(this), PoolCapacity);

    /// <summary>Makes a new instance when the pool is empty (warm-up, or more streams in flight than ever before).</summary>
    protected abstract TFilter Create();

    public sealed override HttpFilter Rent() => _pool.Get();

    public void Return(TFilter filter) => _pool.Return(filter);

    private sealed class Policy(PooledHttpFilterFactory<TFilter> factory) : PooledObjectPolicy<TFilter>
    {
        public override TFilter Create() => factory.Create();

        public override bool Return(TFilter obj)
        {
            obj.Reset();
            return true;
        }
    }
}
