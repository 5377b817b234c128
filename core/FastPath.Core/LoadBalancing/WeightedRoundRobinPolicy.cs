// Smooth weighted round robin (nginx's sequence), precomputed once per endpoint set: a pick is one interlocked
// increment and an array read, so it is lock-free and interleaves endpoints instead of sending bursts to one.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class WeightedRoundRobinPolicy : ILoadBalancingPolicy
{
    // Weights are scaled down when their sum exceeds this, bounding the schedule's memory.
    private const int MaxScheduleLength = 4096;

    private readonly UpstreamEndpoint[] _endpoints;
    private readonly int[] _schedule;
    private int _next = -1;

    public WeightedRoundRobinPolicy(UpstreamEndpoint[] endpoints)
    {
        _endpoints = endpoints;
        _schedule = BuildSchedule(endpoints.Select(e => e.Weight).ToArray());
    }

    public string Name => "round_robin";

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        int[] schedule = _schedule;
        if (schedule.Length == 0) return null;
        // Unhealthy endpoints are skipped by walking on; at most one full cycle, then none is healthy.
        for (int tries = 0; tries < schedule.Length; tries++)
        {
            uint i = (uint)Interlocked.Increment(ref _next);
            UpstreamEndpoint e = _endpoints[schedule[i % (uint)schedule.Length]];
            if (e.Healthy || context.IgnoreHealth) return e;
        }
        return null;
    }

    internal static int[] BuildSchedule(int[] weights)
    {
        if (weights.Length == 0) return [];
        int[] w = (int[])weights.Clone();
        int g = w.Aggregate(0, Gcd);
        for (int i = 0; i < w.Length; i++) w[i] /= Math.Max(g, 1);
        long total = w.Sum(x => (long)x);
        if (total > MaxScheduleLength)
        {
            double scale = (double)MaxScheduleLength / total;
            for (int i = 0; i < w.Length; i++) w[i] = Math.Max(1, (int)Math.Round(w[i] * scale));
            total = w.Sum(x => (long)x);
        }

        var schedule = new int[total];
        var current = new long[w.Length];
        for (int n = 0; n < total; n++)
        {
            int best = 0;
            for (int i = 0; i < w.Length; i++)
            {
                current[i] += w[i];
                if (current[i] > current[best]) best = i;
            }
            current[best] -= total;
            schedule[n] = best;
        }
        return schedule;
    }

    private static int Gcd(int a, int b) => b == 0 ? a : Gcd(b, a % b);
}
