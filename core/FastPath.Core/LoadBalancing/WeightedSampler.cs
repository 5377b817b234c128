// Weighted random choice over a fixed endpoint set: a cumulative-weight array built once, searched in O(log n) per
// draw. Shared by random, least_request and peak_ewma so all three honour weights identically.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class WeightedSampler
{
    private readonly UpstreamEndpoint[] _endpoints;
    // _cumulative[i] is the sum of the weights of endpoints 0..i; endpoint i owns the points [_cumulative[i-1], _cumulative[i]).
    private readonly ulong[] _cumulative;
    private readonly ulong _total;

    public WeightedSampler(UpstreamEndpoint[] endpoints)
    {
        _endpoints = endpoints;
        _cumulative = new ulong[endpoints.Length];
        ulong sum = 0;
        for (int i = 0; i < endpoints.Length; i++)
        {
            sum += WeightOf(endpoints[i]);
            _cumulative[i] = sum;
        }
        _total = sum;
    }

    /// <summary>A weight below 1 would make an endpoint unreachable without being flagged; config rejects it, code clamps.</summary>
    public static ulong WeightOf(UpstreamEndpoint e) => (ulong)Math.Max(1, e.Weight);

    /// <summary>
    /// Two distinct healthy candidates drawn by weight, for power-of-two-choices policies: false when none is
    /// healthy; <paramref name="second"/> is -1 when only one is. Distinct, so a loaded endpoint is never compared
    /// with itself and loses every comparison. <paramref name="ignoreHealth"/>: panic mode, every endpoint counts.
    /// </summary>
    public bool TryPickTwo(IRandomSource random, bool ignoreHealth, out int first, out int second)
    {
        first = PickHealthy(random, exclude: -1, ignoreHealth);
        second = first < 0 ? -1 : PickHealthy(random, exclude: first, ignoreHealth);
        return first >= 0;
    }

    /// <summary>
    /// The index of a healthy endpoint drawn in proportion to weight, never <paramref name="exclude"/> (-1 for none),
    /// or -1 when no other endpoint is healthy. <paramref name="ignoreHealth"/>: any endpoint will do (panic mode).
    /// </summary>
    public int PickHealthy(IRandomSource random, int exclude, bool ignoreHealth = false)
    {
        ulong[] cumulative = _cumulative;
        ulong excludedStart = 0, excludedWeight = 0;
        if ((uint)exclude < (uint)cumulative.Length)
        {
            excludedWeight = WeightOf(_endpoints[exclude]);
            excludedStart = cumulative[exclude] - excludedWeight;
        }
        if (_total > excludedWeight)
        {
            // Draw from the total without the excluded range, then step over it: one draw, exact weights.
            ulong point = XorShift.Below(random.NextUInt64(), _total - excludedWeight);
            if (excludedWeight != 0 && point >= excludedStart) point += excludedWeight;
            int i = Find(point);
            if (ignoreHealth || _endpoints[i].Healthy) return i;
        }
        return ignoreHealth ? -1 : PickHealthySlow(random, exclude);
    }

    private int Find(ulong point)
    {
        ulong[] cumulative = _cumulative;
        int lo = 0, hi = cumulative.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (cumulative[mid] > point) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    // Some endpoint is unhealthy: draw among the healthy ones only, so their relative weights still hold. O(n), taken
    // only when the fast draw landed on an unhealthy endpoint.
    private int PickHealthySlow(IRandomSource random, int exclude)
    {
        UpstreamEndpoint[] endpoints = _endpoints;
        ulong healthy = 0;
        for (int i = 0; i < endpoints.Length; i++)
        {
            if (i != exclude && endpoints[i].Healthy) healthy += WeightOf(endpoints[i]);
        }
        if (healthy == 0) return -1;
        ulong point = XorShift.Below(random.NextUInt64(), healthy);
        int last = -1;
        for (int i = 0; i < endpoints.Length; i++)
        {
            if (i == exclude || !endpoints[i].Healthy) continue;
            ulong w = WeightOf(endpoints[i]);
            if (point < w) return i;
            point -= w;
            last = i;
        }
        // Health changed between the two scans; any endpoint seen healthy is still a fair answer.
        return last;
    }
}
