// /config_dump for listeners' filter chains and listener-filter settings (kept apart from AdminServer's dump of
// the HTTP model, which other areas extend).
using System.Text.Json;
using FastPath.Config;

namespace FastPath.Observability.Admin;

internal static class FilterChainDump
{
    public static void Write(Utf8JsonWriter w, ListenerConfig listener)
    {
        if (listener.FilterChains.Count == 0) return;
        w.WriteString("listener_filters_timeout", $"{listener.ListenerFiltersTimeout.TotalMilliseconds}ms");
        w.WriteBoolean("continue_on_listener_filters_timeout", listener.ContinueOnListenerFiltersTimeout);
        w.WriteStartArray("filter_chains");
        foreach (FilterChainConfig c in listener.FilterChains)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteStartObject("match");
            FilterChainMatchConfig m = c.Match;
            if (m.DestinationPort is { } port) w.WriteNumber("destination_port", port);
            Strings(w, "server_names", m.ServerNames);
            if (m.TransportProtocol is { } t) w.WriteString("transport_protocol", t);
            Strings(w, "application_protocols", m.ApplicationProtocols);
            Strings(w, "source_prefix_ranges", m.SourcePrefixRanges);
            w.WriteEndObject();
            if (c.TcpProxy is { } tcp)
            {
                w.WriteStartObject("tcp_proxy");
                if (!string.IsNullOrEmpty(tcp.Cluster)) w.WriteString("cluster", tcp.Cluster);
                if (tcp.WeightedClusters.Count > 0)
                {
                    w.WriteStartArray("weighted_clusters");
                    foreach (TcpProxyClusterWeight wc in tcp.WeightedClusters)
                    {
                        w.WriteStartObject();
                        w.WriteString("cluster", wc.Cluster);
                        w.WriteNumber("weight", wc.Weight);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                w.WriteString("idle_timeout", $"{tcp.IdleTimeout.TotalMilliseconds}ms");
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartArray("virtual_hosts");
                foreach (VirtualHostConfig v in c.VirtualHosts)
                {
                    w.WriteStartObject();
                    w.WriteString("name", v.Name);
                    Strings(w, "domains", v.Domains);
                    w.WriteNumber("routes", v.Routes.Count);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    internal static void Strings(Utf8JsonWriter w, string name, IReadOnlyList<string> values)
    {
        if (values.Count == 0) return;
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }
}
