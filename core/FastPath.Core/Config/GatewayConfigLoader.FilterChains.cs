// Reads listeners' filter chains: the match, and a tcp_proxy or HTTP virtual hosts.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private FilterChainConfig ReadFilterChain(YamlNode node, string path)
        {
            var c = new FilterChainConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "match", "tcp_proxy", "virtual_hosts", "tls"))
            {
                string p = $"{path}.{key}";
                c = key switch
                {
                    "name" => c with { Name = Scalar(value, p) ?? "" },
                    "match" => c with { Match = ReadFilterChainMatch(value, p) },
                    "tcp_proxy" => c with { TcpProxy = ReadTcpProxy(value, p) },
                    "tls" => c with { Tls = ReadTlsServer(value, p) },
                    _ => c with { VirtualHosts = List(value, p, ReadVirtualHost) },
                };
            }
            return c;
        }

        private FilterChainMatchConfig ReadFilterChainMatch(YamlNode node, string path)
        {
            var m = new FilterChainMatchConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "destination_port", "server_names", "transport_protocol",
                         "application_protocols", "source_prefix_ranges"))
            {
                string p = $"{path}.{key}";
                m = key switch
                {
                    "destination_port" => m with { DestinationPort = Int(value, p, 1, 65535) },
                    "server_names" => m with { ServerNames = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "transport_protocol" => m with { TransportProtocol = Scalar(value, p) ?? "" },
                    "application_protocols" => m with { ApplicationProtocols = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    _ => m with { SourcePrefixRanges = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                };
            }
            return m;
        }

        private TcpProxyConfig ReadTcpProxy(YamlNode node, string path)
        {
            var t = new TcpProxyConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "cluster", "weighted_clusters", "idle_timeout"))
            {
                string p = $"{path}.{key}";
                t = key switch
                {
                    "cluster" => t with { Cluster = Scalar(value, p) ?? "" },
                    "weighted_clusters" => t with { WeightedClusters = List(value, p, ReadTcpProxyClusterWeight) },
                    _ => t with { IdleTimeout = Duration(value, p) },
                };
            }
            return t;
        }

        private TcpProxyClusterWeight ReadTcpProxyClusterWeight(YamlNode node, string path)
        {
            var w = new TcpProxyClusterWeight();
            foreach ((string key, YamlNode value) in Fields(node, path, "cluster", "weight"))
            {
                string p = $"{path}.{key}";
                w = key == "cluster" ? w with { Cluster = Scalar(value, p) ?? "" } : w with { Weight = Int(value, p, 1, 1_000_000) };
            }
            return w;
        }
    }
}
