// Header mutation: the request's fields are changed after the route is chosen (before forwarding), the response's
// before its head is written to the client. A virtual host's and a route's operations both apply, the host's first,
// so the route's set wins for a name both set (Envoy applies the most specific level last the same way).
using FastPath.Http;

namespace FastPath.Filters.Http;

internal sealed class HeaderMutationFilterFactory(HeaderMutation[] request, HeaderMutation[] response)
    : PooledHttpFilterFactory<HeaderMutationFilter>
{
    public HeaderMutation[] Request { get; } = request;
    public HeaderMutation[] Response { get; } = response;

    protected override HeaderMutationFilter Create() => new(this);
}

internal sealed class HeaderMutationFilter(HeaderMutationFilterFactory factory) : HttpFilter
{
    public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
    {
        foreach (HeaderMutation m in factory.Request) m.Apply(stream.Request.Headers);
        return FilterHeadersStatus.Continue;
    }

    public override FilterHeadersStatus OnResponseHeaders(HttpFilterManager stream)
    {
        foreach (HeaderMutation m in factory.Response) m.Apply(stream.Response.Headers);
        return FilterHeadersStatus.Continue;
    }

    public override void Release() => factory.Return(this);
}
