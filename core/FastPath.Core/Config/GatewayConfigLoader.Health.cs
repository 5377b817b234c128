// Reads a cluster's upstream health settings: health_check, outlier_detection and slow_start.
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private HealthCheckConfig ReadHealthCheck(YamlNode node, string path)
        {
            var h = new HealthCheckConfig();
            int kinds = 0;
            foreach ((string key, YamlNode value) in Fields(node, path, "http", "grpc", "tcp", "interval", "timeout",
                         "healthy_threshold", "unhealthy_threshold", "interval_jitter"))
            {
                string p = $"{path}.{key}";
                switch (key)
                {
                    case "http":
                    case "grpc":
                    case "tcp":
                        if (++kinds > 1) Error(value, p, "a health check is one of http, grpc or tcp");
                        h = key switch
                        {
                            "http" => h with { Http = ReadHttpHealthCheck(value, p), Grpc = null },
                            "grpc" => h with { Grpc = ReadGrpcHealthCheck(value, p), Http = null },
                            _ => h with { Http = null, Grpc = null },
                        };
                        if (key == "tcp") foreach (var _ in Fields(value, p)) { } // tcp takes no settings: {}
                        break;
                    case "interval": h = h with { Interval = Duration(value, p) }; break;
                    case "timeout": h = h with { Timeout = Duration(value, p) }; break;
                    case "interval_jitter": h = h with { IntervalJitter = Duration(value, p) }; break;
                    case "healthy_threshold": h = h with { HealthyThreshold = Int(value, p, 1, 1000) }; break;
                    default: h = h with { UnhealthyThreshold = Int(value, p, 1, 1000) }; break;
                }
            }
            if (kinds == 0 && node is YamlMappingNode) Error(node, path, "set http: {path: ...}, grpc: {} or tcp: {}");
            return h;
        }

        private HttpHealthCheckConfig ReadHttpHealthCheck(YamlNode node, string path)
        {
            var h = new HttpHealthCheckConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "path", "host", "expected_statuses", "codec_client_type"))
            {
                string p = $"{path}.{key}";
                h = key switch
                {
                    "path" => h with { Path = Scalar(value, p) ?? "" },
                    "host" => h with { Host = Scalar(value, p) },
                    "codec_client_type" => h with { Codec = ReadCodec(value, p) },
                    _ => h with { ExpectedStatuses = List(value, p, ReadStatusRange) },
                };
            }
            return h;
        }

        private GrpcHealthCheckConfig ReadGrpcHealthCheck(YamlNode node, string path)
        {
            var g = new GrpcHealthCheckConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "service_name", "authority"))
            {
                string p = $"{path}.{key}";
                g = key == "service_name" ? g with { ServiceName = Scalar(value, p) ?? "" } : g with { Authority = Scalar(value, p) };
            }
            return g;
        }

        /// <summary>Envoy's codec_client_type: HTTP1 or HTTP2 (HTTP3 needs QUIC, which these builds lack).</summary>
        private HealthCheckCodec? ReadCodec(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            switch (s)
            {
                case "HTTP1": return HealthCheckCodec.Http1;
                case "HTTP2": return HealthCheckCodec.Http2;
                default:
                    Error(node, path, $"expected HTTP1 or HTTP2, got '{s}'");
                    return null;
            }
        }

        /// <summary>"200" or an inclusive range "200-399".</summary>
        private StatusRange ReadStatusRange(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (s is null) return new StatusRange(200, 200);
            int dash = s.IndexOf('-');
            if (Status(dash < 0 ? s : s[..dash]) is int from && (dash < 0 ? from : Status(s[(dash + 1)..])) is int to && to >= from)
                return new StatusRange(from, to);
            Error(node, path, $"expected a status (200) or an inclusive range (200-399) within 100-599, got '{s}'");
            return new StatusRange(200, 200);

            static int? Status(string text) =>
                int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v is >= 100 and <= 599 ? v : null;
        }

        private OutlierDetectionConfig ReadOutlierDetection(YamlNode node, string path)
        {
            var o = new OutlierDetectionConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "consecutive_5xx", "consecutive_gateway_errors", "interval",
                         "base_ejection_time", "max_ejection_percent", "min_health_percent"))
            {
                string p = $"{path}.{key}";
                o = key switch
                {
                    "consecutive_5xx" => o with { Consecutive5xx = Int(value, p, 0, 1_000_000) },
                    "consecutive_gateway_errors" => o with { ConsecutiveGatewayErrors = Int(value, p, 0, 1_000_000) },
                    "interval" => o with { Interval = Duration(value, p) },
                    "base_ejection_time" => o with { BaseEjectionTime = Duration(value, p) },
                    "max_ejection_percent" => o with { MaxEjectionPercent = Int(value, p, 0, 100) },
                    _ => o with { MinHealthPercent = Int(value, p, 0, 100) },
                };
            }
            return o;
        }

        private SlowStartConfig ReadSlowStart(YamlNode node, string path)
        {
            var s = new SlowStartConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "window", "aggression", "min_weight_percent"))
            {
                string p = $"{path}.{key}";
                s = key switch
                {
                    "window" => s with { Window = Duration(value, p) },
                    "aggression" => s with { Aggression = Double(value, p, 0.01, 100) },
                    _ => s with { MinWeightPercent = Int(value, p, 0, 100) },
                };
            }
            return s;
        }

        private double Double(YamlNode node, string path, double min, double max)
        {
            string? s = Scalar(node, path);
            if (s is null) return min;
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max))
            {
                Error(node, path, $"expected a number from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}, got '{s}'");
                return min;
            }
            return v;
        }
    }
}
