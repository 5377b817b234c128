// A cluster as the request path sees it: endpoints, the policy that picks among them, and its stats handles.
using System.Text;
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;

namespace FastPath.Upstream.Clusters;

internal sealed class Cluster
{
    public Cluster(ClusterConfig config, UpstreamEndpoint[] endpoints, ClusterStats stats)
    {
        Config = config;
        Name = config.Name;
        NameUtf8 = Encoding.UTF8.GetBytes(config.Name);
        Endpoints = endpoints;
        LoadBalancer = LoadBalancingPolicies.Create(config.LbPolicy, endpoints, new LoadBalancerOptions { MinRingSize = config.RingSize });
        Stats = stats;
    }

    public ClusterConfig Config { get; }
    public string Name { get; }
    public byte[] NameUtf8 { get; }
    public UpstreamEndpoint[] Endpoints { get; }
    public ILoadBalancingPolicy LoadBalancer { get; }
    public ClusterStats Stats { get; }
}
