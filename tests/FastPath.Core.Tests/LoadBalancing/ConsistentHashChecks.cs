// The properties ring_hash and maglev share: a key sticks to its endpoint, removing one of N endpoints moves about
// 1/N of the keys, and the removed (or unhealthy) endpoint's keys spread over the others instead of piling onto one.
using FastPath.LoadBalancing;
using FastPath.Upstream;
using static FastPath.Core.Tests.LoadBalancing.LoadBalancingTestKit;

namespace FastPath.Core.Tests.LoadBalancing;

internal static class ConsistentHashChecks
{
    public static void SameKeySameEndpoint(Func<UpstreamEndpoint[], ILoadBalancingPolicy> create)
    {
        var endpoints = Endpoints(1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        ILoadBalancingPolicy policy = create(endpoints);
        ILoadBalancingPolicy rebuilt = create(Endpoints(1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        for (int i = 0; i < 1000; i++)
        {
            UpstreamEndpoint first = policy.Pick(Keyed(Key(i)))!;
            Assert.Same(first, policy.Pick(Keyed(Key(i))));
            // Built again from equal endpoints (a config reload): the same address owns the key.
            Assert.Equal(first.Name, rebuilt.Pick(Keyed(Key(i)))!.Name);
        }
    }

    public static void RemovalMovesAboutOneNth(Func<UpstreamEndpoint[], ILoadBalancingPolicy> create)
    {
        const int n = 10, removed = 3;
        UpstreamEndpoint[] all = Endpoints(Enumerable.Repeat(1, n).ToArray());
        UpstreamEndpoint[] rest = [.. all.Where((_, i) => i != removed)];
        ILoadBalancingPolicy before = create(all), after = create(rest);

        int moved = 0;
        var receivers = new Dictionary<string, int>();
        for (int i = 0; i < Picks; i++)
        {
            UpstreamEndpoint was = before.Pick(Keyed(Key(i)))!, now = after.Pick(Keyed(Key(i)))!;
            if (was.Name == now.Name) continue;
            moved++;
            if (was == all[removed]) receivers[now.Name] = receivers.GetValueOrDefault(now.Name) + 1;
        }

        Assert.True(moved <= Picks * (1.0 / n + 0.03), $"{moved} of {Picks} keys moved (at most 1/{n} + 3% expected)");
        AssertSpread(receivers, n - 1);
    }

    public static void UnhealthyKeysSpreadAndOthersStay(Func<UpstreamEndpoint[], ILoadBalancingPolicy> create)
    {
        const int n = 10, down = 6;
        UpstreamEndpoint[] endpoints = Endpoints(Enumerable.Repeat(1, n).ToArray());
        ILoadBalancingPolicy policy = create(endpoints);
        var owner = new UpstreamEndpoint[Picks];
        for (int i = 0; i < Picks; i++) owner[i] = policy.Pick(Keyed(Key(i)))!;

        endpoints[down].Healthy = false;
        var receivers = new Dictionary<string, int>();
        for (int i = 0; i < Picks; i++)
        {
            UpstreamEndpoint now = policy.Pick(Keyed(Key(i)))!;
            if (owner[i] == endpoints[down]) receivers[now.Name] = receivers.GetValueOrDefault(now.Name) + 1;
            else Assert.Same(owner[i], now);
        }
        AssertSpread(receivers, n - 1);

        endpoints[down].Healthy = true;
        for (int i = 0; i < Picks; i++) Assert.Same(owner[i], policy.Pick(Keyed(Key(i))));
    }

    public static void NoKey_RandomPick(Func<UpstreamEndpoint[], ILoadBalancingPolicy> create)
    {
        var endpoints = Endpoints(1, 1, 1, 1);
        int[] counts = Counts(create(endpoints), endpoints, _ => new LoadBalancerContext { HashKey = 7 });
        // HasHashKey false: HashKey is ignored and picks spread, rather than all landing on the owner of 7.
        Assert.All(counts, c => Assert.InRange(c, 1500, 3500));
    }

    private static void AssertSpread(Dictionary<string, int> receivers, int others)
    {
        int total = receivers.Values.Sum();
        Assert.True(total > 0, "the removed endpoint owned no keys");
        Assert.True(receivers.Count >= others - 2, $"keys went to only {receivers.Count} of {others} endpoints");
        Assert.True(receivers.Values.Max() <= total * 0.35, $"one endpoint took {receivers.Values.Max()} of {total} moved keys");
    }
}
