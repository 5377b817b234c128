// Shared by the policy tests: endpoints without sockets, a manual clock, and the pick loops every policy is held to
// (weights honoured, unhealthy endpoints skipped, no allocation per pick).
using System.Net;
using System.Runtime.CompilerServices;
using FastPath.LoadBalancing;
using FastPath.Upstream;
using FastPath.Upstream.Pools;

using FastPath.Core.Tests.Testing;

namespace FastPath.Core.Tests.LoadBalancing;

internal static class LoadBalancingTestKit
{
    public const int Picks = 10_000;

    private static readonly PoolSettings Settings = new(16, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));

    /// <summary>Endpoints 10.0.0.1:8080, 10.0.0.2:8080, ... with the given weights; their pools never connect.</summary>
    public static UpstreamEndpoint[] Endpoints(params int[] weights)
    {
        var endpoints = new UpstreamEndpoint[weights.Length];
        for (int i = 0; i < weights.Length; i++) endpoints[i] = Endpoint(i, weights[i]);
        return endpoints;
    }

    public static UpstreamEndpoint Endpoint(int index, int weight = 1)
    {
        var address = new IPEndPoint(new IPAddress([10, 0, (byte)(index >> 8), (byte)(index + 1)]), 8080);
        // The connector is only used by AcquireAsync, which these tests never call.
        var pool = new Http1ConnectionPool(address.ToString(), address, null!, Settings);
        return new UpstreamEndpoint(address.Address.ToString(), 8080, weight, address, pool);
    }

    /// <summary>A well-mixed 64-bit key per request, as the request path will produce by hashing a header.</summary>
    public static ulong Key(int i) => XxHash64.Hash(BitConverter.GetBytes(i), 42);

    public static LoadBalancerContext Keyed(ulong key) => new() { HashKey = key, HasHashKey = true };

    public static int[] Counts(ILoadBalancingPolicy policy, UpstreamEndpoint[] endpoints, Func<int, LoadBalancerContext> context, int picks = Picks)
    {
        int[] counts = new int[endpoints.Length];
        for (int i = 0; i < picks; i++)
        {
            UpstreamEndpoint e = policy.Pick(context(i)) ?? throw new InvalidOperationException("no endpoint picked");
            counts[Array.IndexOf(endpoints, e)]++;
        }
        return counts;
    }

    /// <summary>Each endpoint's share of the picks is its share of the weight, within the given absolute tolerance.</summary>
    public static void AssertWeighted(int[] counts, int[] weights, double tolerance = 0.02)
    {
        double totalWeight = weights.Sum();
        double totalPicks = counts.Sum();
        for (int i = 0; i < weights.Length; i++)
        {
            double expected = weights[i] / totalWeight, actual = counts[i] / totalPicks;
            Assert.True(Math.Abs(actual - expected) <= tolerance,
                $"endpoint {i} (weight {weights[i]}): {actual:P2} of picks, expected {expected:P2} ± {tolerance:P0}; counts [{string.Join(", ", counts)}]");
        }
    }

    public static void AssertSkipsUnhealthy(ILoadBalancingPolicy policy, UpstreamEndpoint[] endpoints, Func<int, LoadBalancerContext> context)
    {
        for (int i = 0; i < endpoints.Length; i += 2) endpoints[i].Healthy = false;
        for (int i = 0; i < 2000; i++)
        {
            UpstreamEndpoint? e = policy.Pick(context(i));
            Assert.NotNull(e);
            Assert.True(e.Healthy, $"picked unhealthy {e.Name}");
        }
        foreach (UpstreamEndpoint e in endpoints) e.Healthy = false;
        for (int i = 0; i < 100; i++) Assert.Null(policy.Pick(context(i)));
    }

    /// <remarks>
    /// The fewest bytes of three measured rounds. A health change anywhere in the process (another test's endpoint)
    /// makes a priority-aware balancer recompute its loads once, on the next pick, by design; a round that happens to
    /// include one is not what is measured here. A pick that allocates shows in every round.
    /// </remarks>
    public static long AllocatedBytesPerPicks(ILoadBalancingPolicy policy, ulong[] keys)
    {
        PickAll(policy, keys); // warm-up: JIT, thread statics
        return ThreadAllocations.Fewest(() => PickAll(policy, keys));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PickAll(ILoadBalancingPolicy policy, ulong[] keys)
    {
        for (int i = 0; i < keys.Length; i++)
        {
            var context = new LoadBalancerContext { HashKey = keys[i], HasHashKey = true };
            if (policy.Pick(in context) is null) throw new InvalidOperationException("no endpoint picked");
        }
    }

    public static ulong[] Keys(int count) => [.. Enumerable.Range(0, count).Select(Key)];
}

/// <summary>A clock that moves only when told to, in TimeProvider's default (Stopwatch) tick units.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _now = 1_000_000;

    public override long GetTimestamp() => Volatile.Read(ref _now);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)(by.TotalSeconds * TimestampFrequency));
}
