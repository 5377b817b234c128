// Maglev consistent hashing (Eisenbud et al., NSDI 2016; Envoy's MAGLEV): a 65,537-slot lookup table filled by each
// endpoint walking its own permutation of the slots, so a pick is one modulo and one array read, load is balanced to
// within a few percent, and removing one of N endpoints moves little more than 1/N of the keys.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class MaglevPolicy : ILoadBalancingPolicy
{
    /// <summary>Prime, as the permutation needs; Envoy's default, about 100x a large cluster's endpoint count.</summary>
    public const int TableSize = 65537;

    private readonly UpstreamEndpoint[] _endpoints;
    private readonly int[] _table;
    private readonly IRandomSource _random;

    public MaglevPolicy(UpstreamEndpoint[] endpoints, IRandomSource? random = null)
    {
        _endpoints = endpoints;
        _random = random ?? ThreadLocalRandom.Instance;
        _table = BuildTable(endpoints);
    }

    public string Name => "maglev";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        int[] table = _table;
        if (table.Length == 0) return null;
        ulong key = context.HasHashKey ? context.HashKey : _random.NextUInt64();
        int slot = (int)(key % TableSize);
        UpstreamEndpoint e = _endpoints[table[slot]];
        return e.Healthy || context.IgnoreHealth ? e : WalkToHealthy(slot);
    }

    // Unhealthy owner: take the next slot's owner instead of rebuilding the table on every health flip. Neighbouring
    // slots belong to endpoints in permutation order, effectively at random, so the keys of an unhealthy endpoint
    // spread over all the others, stay put while it is down, and come back when it recovers.
    private UpstreamEndpoint? WalkToHealthy(int start)
    {
        if (!LoadBalancingPolicies.AnyHealthy(_endpoints)) return null;
        int[] table = _table;
        for (int n = 1; n < table.Length; n++)
        {
            int i = start + n;
            if (i >= table.Length) i -= table.Length;
            UpstreamEndpoint e = _endpoints[table[i]];
            if (e.Healthy) return e;
        }
        return null;
    }

    /// <summary>
    /// Maglev's population with Envoy's weighting: in each round an endpoint claims its next free preferred slot only
    /// when its weight has accrued to the heaviest endpoint's, so slot counts follow the weights.
    /// </summary>
    internal static int[] BuildTable(UpstreamEndpoint[] endpoints)
    {
        int n = endpoints.Length;
        if (n == 0) return [];
        var offset = new ulong[n];
        var skip = new ulong[n];
        var next = new ulong[n];
        var weight = new ulong[n];
        var target = new ulong[n];
        ulong maxWeight = 0;
        for (int i = 0; i < n; i++)
        {
            string name = endpoints[i].Name;
            offset[i] = XxHash64.Hash(name, 0) % TableSize;
            skip[i] = XxHash64.Hash(name, 1) % (TableSize - 1) + 1;
            weight[i] = WeightedSampler.WeightOf(endpoints[i]);
            maxWeight = Math.Max(maxWeight, weight[i]);
        }

        int[] table = new int[TableSize];
        Array.Fill(table, -1);
        int filled = 0;
        for (ulong round = 1; filled < TableSize; round++)
        {
            for (int i = 0; i < n && filled < TableSize; i++)
            {
                if (round * weight[i] < target[i]) continue;
                target[i] += maxWeight;
                ulong c = (offset[i] + next[i] * skip[i]) % TableSize;
                while (table[c] >= 0)
                {
                    next[i]++;
                    c = (offset[i] + next[i] * skip[i]) % TableSize;
                }
                table[c] = i;
                next[i]++;
                filled++;
            }
        }
        return table;
    }
}
