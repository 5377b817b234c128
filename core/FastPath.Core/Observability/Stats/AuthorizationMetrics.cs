// AuthorizationPolicy outcomes by policy name (Envoy's rbac.allowed / rbac.denied and Istio's audit marks). A
// decision counts with one Interlocked.Increment on a field resolved when config loads; the Prometheus series are
// brought up to date when /stats/prometheus is collected. (A prometheus-net Counter.Child.Inc measured ~10x the
// cost of checking one policy, and a request may count several audit matches.)
using System.Collections.Concurrent;
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class AuthorizationMetrics
{
    public static readonly Counter Decisions = Metrics.CreateCounter("fastpath_rbac_decisions_total",
        "AuthorizationPolicy outcomes by policy (\"none\": no ALLOW policy matched), decision (allowed, denied, audited) "
        + "and protocol (http requests, tcp connections).",
        new CounterConfiguration { LabelNames = ["policy", "decision", "protocol"] });

    private static readonly ConcurrentDictionary<(string, string), AuthorizationPolicyStats> ByPolicy = new();

    static AuthorizationMetrics() => Metrics.DefaultRegistry.AddBeforeCollectCallback(Publish);

    public static AuthorizationPolicyStats For(string policy, string protocol) =>
        ByPolicy.GetOrAdd((policy, protocol), static k => new AuthorizationPolicyStats(k.Item1, k.Item2));

    /// <summary>Copies the counts into the Prometheus series (before each collection; tests call it directly).</summary>
    public static void Publish()
    {
        foreach (AuthorizationPolicyStats stats in ByPolicy.Values) stats.Publish();
    }
}

/// <summary>One policy's counts for one protocol; one instance per (policy, protocol) for the life of the process.</summary>
internal sealed class AuthorizationPolicyStats(string policy, string protocol)
{
    private readonly Counter.Child _allowedSeries = AuthorizationMetrics.Decisions.WithLabels(policy, "allowed", protocol);
    private readonly Counter.Child _deniedSeries = AuthorizationMetrics.Decisions.WithLabels(policy, "denied", protocol);
    private readonly Counter.Child _auditedSeries = AuthorizationMetrics.Decisions.WithLabels(policy, "audited", protocol);
    private long _allowed, _denied, _audited;

    public void CountAllowed() => Interlocked.Increment(ref _allowed);
    public void CountDenied() => Interlocked.Increment(ref _denied);
    public void CountAudited() => Interlocked.Increment(ref _audited);

    public void Publish()
    {
        _allowedSeries.IncTo(Interlocked.Read(ref _allowed));
        _deniedSeries.IncTo(Interlocked.Read(ref _denied));
        _auditedSeries.IncTo(Interlocked.Read(ref _audited));
    }
}
