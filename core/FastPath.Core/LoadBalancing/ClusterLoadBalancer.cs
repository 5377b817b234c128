// A cluster's balancer (Envoy's priority-aware LoadBalancerBase): endpoints are grouped into priority levels, each
// with its own instance of the cluster's lb_policy. A pick draws a level against precomputed priority loads (see
// PriorityLoad; recomputed, off the pick, whenever any endpoint's health changed), passes panic mode on to the
// level's policy, and applies slow start to what it returns. Lock-free and allocation-free per pick; the state is
// one immutable object swapped when health changes.
using FastPath.Upstream;

namespace FastPath.LoadBalancing;

internal sealed class ClusterLoadBalancer : ILoadBalancingPolicy
{
    // Re-draws allowed when slow start turns a candidate down; past it the last candidate stands. With the minimum
    // weight at 10% and half the cluster new, falling through happens on under 0.2% of picks.
    private const int MaxSlowStartDraws = 8;

    private readonly Level[] _levels;
    private readonly IRandomSource _random;
    private readonly TimeProvider _time;
    private readonly SlowStartSettings? _slowStart;
    private readonly long _windowTicks;
    private readonly int _panicThreshold;
    private readonly Prometheus.Counter.Child? _panicCounter;
    private State _state;
    private long _panicPicks;

    private ClusterLoadBalancer(string name, Level[] levels, LoadBalancerOptions options)
    {
        Name = name;
        _levels = levels;
        _random = options.Random ?? ThreadLocalRandom.Instance;
        _time = options.Time ?? TimeProvider.System;
        _slowStart = options.SlowStart;
        _windowTicks = _slowStart is null ? 0 : (long)(_slowStart.Window.TotalSeconds * _time.TimestampFrequency);
        _panicThreshold = options.HealthyPanicThreshold;
        _panicCounter = options.PanicCounter;
        _state = Compute(UpstreamEndpoint.HealthVersion);
    }

    public static ClusterLoadBalancer Create(string policy, UpstreamEndpoint[] endpoints, LoadBalancerOptions? options = null)
    {
        options ??= new LoadBalancerOptions();
        int[] priorities = endpoints.Select(e => e.Priority).Distinct().Order().ToArray();
        if (priorities.Length == 0) priorities = [0];
        Level[] levels = priorities.Select(p =>
        {
            UpstreamEndpoint[] members = endpoints.Where(e => e.Priority == p).ToArray();
            return new Level(p, members, LoadBalancingPolicies.Create(policy, members, options));
        }).ToArray();
        return new ClusterLoadBalancer(policy, levels, options);
    }

    public string Name { get; }

    internal int LevelCount => _levels.Length;

    /// <summary>Picks made in panic mode since start (also counted in fastpath_lb_healthy_panic_total).</summary>
    public long PanicPicks => Volatile.Read(ref _panicPicks);

    /// <summary>For /clusters: each level's priority, load percent and panic state as of now.</summary>
    public IEnumerable<(int Priority, int Load, bool Panic)> Levels()
    {
        State s = Current();
        for (int i = 0; i < _levels.Length; i++) yield return (_levels[i].Priority, s.Loads[i], s.Panic[i]);
    }

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        State s = Current();
        int level = _levels.Length == 1 ? 0 : ChooseLevel(s, in context);
        UpstreamEndpoint? e;
        if (s.Panic[level])
        {
            Interlocked.Increment(ref _panicPicks);
            _panicCounter?.Inc();
            LoadBalancerContext panic = context with { IgnoreHealth = true };
            e = PickIn(level, in panic);
        }
        else
        {
            e = PickIn(level, in context);
            // Health changed between computing the loads and this pick: any other level with a healthy endpoint.
            for (int i = 0; e is null && i < _levels.Length; i++)
                if (i != level) e = _levels[i].Policy.Pick(in context);
        }
        return e;
    }

    private UpstreamEndpoint? PickIn(int level, in LoadBalancerContext context)
    {
        UpstreamEndpoint? e = _levels[level].Policy.Pick(in context);
        return _slowStart is null || e is null ? e : SlowStart(e, _levels[level].Policy, in context);
    }

    private State Current()
    {
        State s = Volatile.Read(ref _state);
        int version = UpstreamEndpoint.HealthVersion;
        if (s.Version == version) return s;
        // Read the version first: a change during the computation leaves the new state stale, so the next pick
        // computes again; no change is ever lost.
        s = Compute(version);
        Volatile.Write(ref _state, s);
        return s;
    }

    private int ChooseLevel(State s, in LoadBalancerContext context)
    {
        // A hashed request picks its level from its key (as Envoy does), so it keeps its endpoint while loads hold.
        ulong draw = context.HasHashKey ? context.HashKey * 0x9E3779B97F4A7C15UL : _random.NextUInt64();
        int point = (int)XorShift.Below(draw, 100);
        int[] cumulative = s.Cumulative;
        for (int i = 0; i < cumulative.Length; i++)
            if (point < cumulative[i]) return i;
        return 0;
    }

    /// <summary>
    /// Rejection sampling: a candidate in slow start is kept with probability equal to its weight factor, else the
    /// level's policy draws again. Each endpoint's share then follows weight x factor, while the policy (round robin's
    /// schedule, least request's two choices) still makes every draw, and the clock is read only for new endpoints.
    /// </summary>
    private UpstreamEndpoint SlowStart(UpstreamEndpoint e, ILoadBalancingPolicy policy, in LoadBalancerContext context)
    {
        for (int draws = 1; ; draws++)
        {
            long since = Volatile.Read(ref e.AvailableSince);
            if (since == 0) return e;
            long elapsed = _time.GetTimestamp() - since;
            if (elapsed >= _windowTicks) return e;
            double factor = _slowStart!.Factor(TimeSpan.FromSeconds((double)elapsed / _time.TimestampFrequency));
            if ((_random.NextUInt64() >> 11) * (1.0 / (1UL << 53)) < factor || draws == MaxSlowStartDraws) return e;
            UpstreamEndpoint? next = policy.Pick(in context);
            if (next is null) return e;
            e = next;
        }
    }

    private State Compute(int version)
    {
        int n = _levels.Length;
        var healthy = new int[n];
        var total = new int[n];
        for (int i = 0; i < n; i++)
        {
            UpstreamEndpoint[] members = _levels[i].Endpoints;
            total[i] = members.Length;
            foreach (UpstreamEndpoint e in members)
                if (e.Healthy) healthy[i]++;
        }
        var loads = new int[n];
        var panic = new bool[n];
        PriorityLoad.Compute(healthy, total, _panicThreshold, loads, panic);
        var cumulative = new int[n];
        int sum = 0;
        for (int i = 0; i < n; i++) cumulative[i] = sum += loads[i];
        return new State(version, loads, cumulative, panic);
    }

    private sealed record Level(int Priority, UpstreamEndpoint[] Endpoints, ILoadBalancingPolicy Policy);

    private sealed record State(int Version, int[] Loads, int[] Cumulative, bool[] Panic);
}
