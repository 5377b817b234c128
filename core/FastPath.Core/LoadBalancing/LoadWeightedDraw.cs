// A draw in proportion to each endpoint's weight divided by its load, for the load-aware policies when endpoint
// weights differ: comparing two candidates on load alone (P2C) evens the load out and loses the weights (two clients
// on a 3:1 cluster measured 1:1), so, as Envoy's weighted least-request does, the weight is scaled by the load.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

/// <summary>How loaded an endpoint is now (a struct, so the draw is specialised per policy with no call through an interface).</summary>
internal interface IEndpointLoad
{
    /// <summary>A positive load; the endpoint's share is its weight divided by this.</summary>
    double Of(UpstreamEndpoint endpoint);
}

internal static class LoadWeightedDraw
{
    /// <summary>
    /// One pass to sum weight / load, one to find the draw; loads may move between the passes, so the last eligible
    /// endpoint takes any rest. Lock-free, 0 B.
    /// </summary>
    public static UpstreamEndpoint? Pick<TLoad>(UpstreamEndpoint[] endpoints, IRandomSource random, bool ignoreHealth, TLoad load)
        where TLoad : struct, IEndpointLoad
    {
        double total = 0;
        foreach (UpstreamEndpoint e in endpoints)
            if (ignoreHealth || e.Healthy) total += e.Weight / load.Of(e);
        if (!(total > 0)) return null;
        // 53 random bits as a fraction in [0, 1).
        double draw = (random.NextUInt64() >> 11) * (1.0 / (1UL << 53)) * total;
        UpstreamEndpoint? last = null;
        foreach (UpstreamEndpoint e in endpoints)
        {
            if (!ignoreHealth && !e.Healthy) continue;
            last = e;
            draw -= e.Weight / load.Of(e);
            if (draw < 0) return e;
        }
        return last;
    }

    public static bool EqualWeights(UpstreamEndpoint[] endpoints)
    {
        foreach (UpstreamEndpoint e in endpoints)
            if (e.Weight != endpoints[0].Weight) return false;
        return true;
    }
}
