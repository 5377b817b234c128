// A cluster as the request path sees it: endpoints, the policy that picks among them, and its stats handles.
using System.Text;
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;

namespace FastPath.Upstream.Clusters;

internal sealed class Cluster
{
    public Cluster(ClusterConfig config, UpstreamEndpoint[] endpoints, ClusterStats stats, CircuitBreakers? breakers = null)
    {
        Config = config;
        Name = config.Name;
        NameUtf8 = Encoding.UTF8.GetBytes(config.Name);
        Endpoints = endpoints;
        LoadBalancer = ClusterLoadBalancing.Create(config, endpoints);
        Stats = stats;
        Breakers = breakers ?? new CircuitBreakers(config.CircuitBreakers, config.RetryBudget, new ClusterResources(), stats);
        HashKind = config.HashPolicy?.Kind ?? HashPolicyKind.None;
        // Header names compare case-insensitively; cookie and query-parameter names are case-sensitive.
        HashName = Encoding.ASCII.GetBytes(HashKind == HashPolicyKind.Header ? config.HashPolicy!.Name.ToLowerInvariant() : config.HashPolicy?.Name ?? "");
    }

    /// <summary>Which request field keys consistent hashing (ring_hash, maglev); None: a random key per request.</summary>
    public HashPolicyKind HashKind { get; }
    public byte[] HashName { get; }

    public ClusterConfig Config { get; }
    public string Name { get; }
    public byte[] NameUtf8 { get; }
    public UpstreamEndpoint[] Endpoints { get; }
    public ILoadBalancingPolicy LoadBalancer { get; }
    public ClusterStats Stats { get; }
    /// <summary>Limits on what the cluster has in flight (connections, pending, requests, retries).</summary>
    public CircuitBreakers Breakers { get; }
    /// <summary>TLS origination to the endpoints (the pools and the TCP proxy use it); null: plaintext.</summary>
    public Tls.UpstreamTlsContext? Tls { get; init; }
}
