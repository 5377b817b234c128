// A tcp_proxy filter as compiled from config: the cluster (or clusters by weight) and the idle timeout. Each
// connection the chain takes gets its own TcpProxy from it.
using FastPath.Config;
using FastPath.LoadBalancing;
using FastPath.Observability.Stats;
using FastPath.Upstream.Clusters;

namespace FastPath.Filters.Network;

internal sealed class TcpProxyFactory
{
    private readonly Cluster[] _clusters;
    private readonly TcpClusterStats[] _stats;
    private readonly int[] _cumulativeWeights;
    private readonly IRandomSource _random;

    public TcpProxyFactory(TcpProxyConfig config, Dictionary<string, Cluster> clusters, IRandomSource? random = null)
    {
        _random = random ?? ThreadLocalRandom.Instance;
        (string Cluster, int Weight)[] targets = config.Cluster is { Length: > 0 } single
            ? [(single, 1)]
            : [.. config.WeightedClusters.Select(w => (w.Cluster, w.Weight))];
        _clusters = [.. targets.Select(t => clusters[t.Cluster])];
        _stats = [.. targets.Select(t => TcpClusterStats.For(t.Cluster))];
        _cumulativeWeights = new int[targets.Length];
        int sum = 0;
        for (int i = 0; i < targets.Length; i++) _cumulativeWeights[i] = sum += targets[i].Weight;
        IdleTimeoutMs = (long)config.IdleTimeout.TotalMilliseconds;
    }

    /// <summary>No byte either way for this long closes the tunnel; 0 disables it.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>The cluster for one connection: weighted at random across weighted_clusters (Envoy picks per connection).</summary>
    public int PickCluster()
    {
        if (_clusters.Length == 1) return 0;
        int r = (int)XorShift.Below(_random.NextUInt64(), (ulong)_cumulativeWeights[^1]);
        for (int i = 0; i < _cumulativeWeights.Length; i++)
            if (r < _cumulativeWeights[i]) return i;
        return _clusters.Length - 1;
    }

    public Cluster Cluster(int index) => _clusters[index];

    public TcpClusterStats Stats(int index) => _stats[index];
}
