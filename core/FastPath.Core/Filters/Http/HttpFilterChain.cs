// A route's compiled filter chain: the factories in the order their filters run on the request, and whether any of
// them needs body hooks (computed here once, so a chain without body filters keeps bodies streaming zero-copy).
using FastPath.Routing;

namespace FastPath.Filters.Http;

internal sealed class HttpFilterChain : RouteFilters
{
    public HttpFilterChain(HttpFilterFactory[] factories)
    {
        Factories = factories;
        foreach (HttpFilterFactory f in factories)
        {
            WantsRequestBody |= f.WantsRequestBody;
            WantsResponseBody |= f.WantsResponseBody;
        }
    }

    public HttpFilterFactory[] Factories { get; }

    public bool WantsRequestBody { get; }

    public bool WantsResponseBody { get; }
}
