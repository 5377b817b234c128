// Reads clusters: endpoints, pools and balancing.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private ClusterConfig ReadCluster(YamlNode node, string path)
        {
            var c = new ClusterConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "endpoints", "connect_timeout",
                         "max_connections_per_endpoint", "max_pending_requests", "idle_timeout", "max_requests_per_connection", "lb_policy", "hash_policy", "ring_size",
                         "health_check", "outlier_detection", "slow_start", "healthy_panic_threshold",
                         "circuit_breakers", "retry_budget", "tls", "protocol", "http2"))
            {
                string p = $"{path}.{key}";
                c = key switch
                {
                    "name" => c with { Name = Scalar(value, p) ?? "" },
                    "endpoints" => c with { Endpoints = List(value, p, ReadEndpoint) },
                    "connect_timeout" => c with { ConnectTimeout = Duration(value, p) },
                    "max_connections_per_endpoint" => c with { MaxConnectionsPerEndpoint = Int(value, p, 1, 1_000_000) },
                    "max_pending_requests" => c with { MaxPendingRequests = Int(value, p, 0, 1_000_000) },
                    "idle_timeout" => c with { IdleTimeout = Duration(value, p) },
                    "max_requests_per_connection" => c with { MaxRequestsPerConnection = Int(value, p, 0, int.MaxValue) },
                    "hash_policy" => c with { HashPolicy = ReadHashPolicy(value, p) },
                    // Envoy's bounds for minimum_ring_size: 8M points is already 96 MB per cluster.
                    "ring_size" => c with { RingSize = Int(value, p, 1, 8 * 1024 * 1024) },
                    "health_check" => c with { HealthCheck = ReadHealthCheck(value, p) },
                    "outlier_detection" => c with { OutlierDetection = ReadOutlierDetection(value, p) },
                    "slow_start" => c with { SlowStart = ReadSlowStart(value, p) },
                    "healthy_panic_threshold" => c with { HealthyPanicThreshold = Int(value, p, 0, 100) },
                    "circuit_breakers" => c with { CircuitBreakers = ReadCircuitBreakers(value, p) },
                    "retry_budget" => c with { RetryBudget = ReadRetryBudget(value, p) },
                    "tls" => c with { Tls = ReadUpstreamTls(value, p) },
                    "protocol" => c with { Protocol = ReadUpstreamProtocol(value, p) },
                    "http2" => c with { Http2 = ReadHttp2Options(value, p) },
                    _ => c with { LbPolicy = Scalar(value, p) ?? "" },
                };
            }
            return c;
        }

        /// <summary>http1 (default), http2 (h2c with prior knowledge, or h2 over TLS), or auto (ALPN's choice, over TLS).</summary>
        private UpstreamProtocol ReadUpstreamProtocol(YamlNode node, string path)
        {
            switch (Scalar(node, path))
            {
                case "http1":
                    return UpstreamProtocol.Http1;
                case "http2":
                    return UpstreamProtocol.Http2;
                case "auto":
                    return UpstreamProtocol.Auto;
                case { } other:
                    Error(node, path, $"unknown protocol '{other}' (expected http1, http2 or auto)");
                    break;
            }
            return UpstreamProtocol.Http1;
        }

        /// <summary>Envoy's http2_protocol_options names: max_concurrent_streams, initial_*_window_size, connection_keepalive.</summary>
        private UpstreamHttp2Config ReadHttp2Options(YamlNode node, string path)
        {
            var h = new UpstreamHttp2Config();
            foreach ((string key, YamlNode value) in Fields(node, path, "max_concurrent_streams", "initial_stream_window_size",
                         "initial_connection_window_size", "connection_keepalive"))
            {
                string p = $"{path}.{key}";
                h = key switch
                {
                    "max_concurrent_streams" => h with { MaxConcurrentStreams = Int(value, p, 1, int.MaxValue) },
                    // RFC 9113 §6.9.2: below 65,535 the peer's first DATA would already overflow the window.
                    "initial_stream_window_size" => h with
                    {
                        InitialStreamWindowSize = Int(value, p, UpstreamHttp2Config.MinWindowSize, UpstreamHttp2Config.MaxWindowSize),
                    },
                    "initial_connection_window_size" => h with
                    {
                        InitialConnectionWindowSize = Int(value, p, UpstreamHttp2Config.MinWindowSize, UpstreamHttp2Config.MaxWindowSize),
                    },
                    _ => ReadKeepalive(h, value, p),
                };
            }
            return h;
        }

        private UpstreamHttp2Config ReadKeepalive(UpstreamHttp2Config h, YamlNode node, string path)
        {
            h = h with { KeepaliveInterval = TimeSpan.Zero };
            foreach ((string key, YamlNode value) in Fields(node, path, "interval", "timeout"))
            {
                string p = $"{path}.{key}";
                h = key == "interval" ? h with { KeepaliveInterval = Duration(value, p) } : h with { KeepaliveTimeout = Duration(value, p) };
            }
            return h;
        }

        /// <summary>Exactly one of header: NAME, source_ip: true, query_parameter: NAME, cookie: NAME.</summary>
        private HashPolicyConfig? ReadHashPolicy(YamlNode node, string path)
        {
            HashPolicyConfig? policy = null;
            int seen = 0;
            foreach ((string key, YamlNode value) in Fields(node, path, "header", "source_ip", "query_parameter", "cookie"))
            {
                string p = $"{path}.{key}";
                if (++seen > 1)
                {
                    Error(value, p, "a hash policy hashes one field: set only one of header, source_ip, query_parameter, cookie");
                    continue;
                }
                if (key == "source_ip")
                {
                    string? s = Scalar(value, p);
                    if (s is not null && s != "true") Error(value, p, $"expected true (to hash the client address), got '{s}'");
                    policy = new HashPolicyConfig { Kind = HashPolicyKind.SourceIp };
                    continue;
                }
                HashPolicyKind kind = key switch
                {
                    "header" => HashPolicyKind.Header,
                    "query_parameter" => HashPolicyKind.QueryParameter,
                    _ => HashPolicyKind.Cookie,
                };
                policy = new HashPolicyConfig { Kind = kind, Name = Scalar(value, p) ?? "" };
            }
            // Only for an empty mapping: a misspelt key has already been reported as an unknown field.
            if (node is YamlMappingNode { Children.Count: 0 }) Error(node, path, "set one of header, source_ip, query_parameter, cookie");
            return policy;
        }

        private EndpointConfig ReadEndpoint(YamlNode node, string path)
        {
            var e = new EndpointConfig();
            if (node is YamlScalarNode)
            {
                // Shorthand: "127.0.0.1:9000"
                string addr = ReadAddressOrHostPort(node, path, "", out int? port);
                if (port is null) Error(node, path, "expected host:port");
                return e with { Host = addr, Port = port ?? 0 };
            }
            foreach ((string key, YamlNode value) in Fields(node, path, "address", "weight", "priority", "locality"))
            {
                string p = $"{path}.{key}";
                if (key == "address")
                {
                    string addr = ReadAddressOrHostPort(value, p, "", out int? port);
                    if (port is null) Error(value, p, "expected host:port");
                    e = e with { Host = addr, Port = port ?? 0 };
                }
                else if (key == "priority") e = e with { Priority = Int(value, p, 0, 127) };
                else if (key == "locality") e = e with { Locality = Scalar(value, p) ?? "" };
                else e = e with { Weight = Int(value, p, 1, 1000) };
            }
            return e;
        }
    }
}
