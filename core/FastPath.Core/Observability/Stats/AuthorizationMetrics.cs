// AuthorizationPolicy outcomes by policy name (Envoy's rbac.allowed / rbac.denied and Istio's audit marks): handles
// resolved when config loads, so a decision counts with one increment.
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

    public static AuthorizationPolicyStats For(string policy, string protocol) =>
        ByPolicy.GetOrAdd((policy, protocol), static k => new AuthorizationPolicyStats(k.Item1, k.Item2));
}

internal sealed class AuthorizationPolicyStats(string policy, string protocol)
{
    public Counter.Child Allowed { get; } = AuthorizationMetrics.Decisions.WithLabels(policy, "allowed", protocol);
    public Counter.Child Denied { get; } = AuthorizationMetrics.Decisions.WithLabels(policy, "denied", protocol);
    public Counter.Child Audited { get; } = AuthorizationMetrics.Decisions.WithLabels(policy, "audited", protocol);
}
