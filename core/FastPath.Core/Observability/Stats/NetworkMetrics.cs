// Metrics of the L4 path: Istio's standard TCP series (istio_tcp_*, labelled by cluster, so Istio dashboards work),
// plus TLS-inspector and filter-chain outcomes. Handles are resolved when config loads; counting is one add.
using System.Collections.Concurrent;
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class NetworkMetrics
{
    public static readonly Counter TcpOpened = Metrics.CreateCounter("istio_tcp_connections_opened_total",
        "TCP proxy connections opened to an upstream, by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TcpClosed = Metrics.CreateCounter("istio_tcp_connections_closed_total",
        "TCP proxy connections closed (after they were opened), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TcpSent = Metrics.CreateCounter("istio_tcp_sent_bytes_total",
        "Bytes the TCP proxy sent to clients (the upstream's response direction), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TcpReceived = Metrics.CreateCounter("istio_tcp_received_bytes_total",
        "Bytes the TCP proxy received from clients (the request direction), by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TcpConnectFailures = Metrics.CreateCounter("fastpath_tcp_upstream_connect_failures_total",
        "TCP proxy connections closed because no upstream could be reached (no healthy endpoint, refused, timed out), by cluster.",
        new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TcpIdleTimeouts = Metrics.CreateCounter("fastpath_tcp_idle_timeouts_total",
        "TCP proxy connections closed by their idle timeout, by cluster.", new CounterConfiguration { LabelNames = ["cluster"] });

    public static readonly Counter TlsInspector = Metrics.CreateCounter("fastpath_tls_inspector_total",
        "Connections the TLS inspector looked at, by result (tls, not_tls, too_large, timeout, closed).",
        new CounterConfiguration { LabelNames = ["result"] });

    public static readonly Counter NoFilterChainMatch = Metrics.CreateCounter("fastpath_listener_no_filter_chain_match_total",
        "Connections closed because no filter chain matched and the listener has no default chain, by listener.",
        new CounterConfiguration { LabelNames = ["listener"] });

    public static readonly Counter.Child InspectedTls = TlsInspector.WithLabels("tls");
    public static readonly Counter.Child InspectedNotTls = TlsInspector.WithLabels("not_tls");
    public static readonly Counter.Child InspectedTooLarge = TlsInspector.WithLabels("too_large");
    public static readonly Counter.Child InspectedTimeout = TlsInspector.WithLabels("timeout");
    public static readonly Counter.Child InspectedClosed = TlsInspector.WithLabels("closed");
}

/// <summary>One cluster's TCP series; one instance per cluster name for the life of the process.</summary>
internal sealed class TcpClusterStats
{
    private static readonly ConcurrentDictionary<string, TcpClusterStats> ByCluster = new(StringComparer.Ordinal);

    private TcpClusterStats(string cluster)
    {
        Opened = NetworkMetrics.TcpOpened.WithLabels(cluster);
        Closed = NetworkMetrics.TcpClosed.WithLabels(cluster);
        Sent = NetworkMetrics.TcpSent.WithLabels(cluster);
        Received = NetworkMetrics.TcpReceived.WithLabels(cluster);
        ConnectFailures = NetworkMetrics.TcpConnectFailures.WithLabels(cluster);
        IdleTimeouts = NetworkMetrics.TcpIdleTimeouts.WithLabels(cluster);
    }

    public static TcpClusterStats For(string cluster) => ByCluster.GetOrAdd(cluster, static c => new TcpClusterStats(c));

    public Counter.Child Opened { get; }
    public Counter.Child Closed { get; }
    public Counter.Child Sent { get; }
    public Counter.Child Received { get; }
    public Counter.Child ConnectFailures { get; }
    public Counter.Child IdleTimeouts { get; }
}
