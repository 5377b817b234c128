// Reads the HTTP filter fields a virtual host or route may carry (request_headers, response_headers, fault,
// rate_limit, cors, mirror); ReadHeaderOperations also serves per-destination headers on weighted clusters.
using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        /// <summary>The filter fields allowed on a virtual host and on a route, besides their own.</summary>
        private static readonly string[] FilterFields = ["request_headers", "response_headers", "fault", "rate_limit", "cors", "mirror"];

        private HttpFiltersConfig ReadFilterField(HttpFiltersConfig f, string key, YamlNode value, string path) => key switch
        {
            "request_headers" => f with { RequestHeaders = ReadHeaderOperations(value, path) },
            "response_headers" => f with { ResponseHeaders = ReadHeaderOperations(value, path) },
            "fault" => f with { Fault = ReadFault(value, path) },
            "rate_limit" => f with { RateLimit = ReadRateLimit(value, path) },
            "cors" => f with { Cors = ReadCors(value, path) },
            _ => f with { Mirror = ReadMirror(value, path) },
        };

        /// <summary>{set: {name: value}, add: {name: value}, remove: [name]} (Istio Headers.HeaderOperations).</summary>
        public HeaderOperationsConfig ReadHeaderOperations(YamlNode node, string path)
        {
            var h = new HeaderOperationsConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "set", "add", "remove"))
            {
                string p = $"{path}.{key}";
                h = key switch
                {
                    "set" => h with { Set = ReadStringMap(value, p) },
                    "add" => h with { Add = ReadStringMap(value, p) },
                    _ => h with { Remove = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                };
            }
            return h;
        }

        private List<KeyValuePair<string, string>> ReadStringMap(YamlNode node, string path)
        {
            var list = new List<KeyValuePair<string, string>>();
            Remember(path, node);
            if (node is not YamlMappingNode map)
            {
                Error(node, path, "expected a mapping of header names to values");
                return list;
            }
            foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
            {
                string name = (pair.Key as YamlScalarNode)?.Value ?? "";
                string p = $"{path}.{name}";
                Remember(p, pair.Key);
                list.Add(new KeyValuePair<string, string>(name, Scalar(pair.Value, p) ?? ""));
            }
            return list;
        }

        private FaultConfig ReadFault(YamlNode node, string path)
        {
            var f = new FaultConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "delay", "abort"))
            {
                string p = $"{path}.{key}";
                f = key == "delay" ? f with { Delay = ReadFaultDelay(value, p) } : f with { Abort = ReadFaultAbort(value, p) };
            }
            return f;
        }

        private FaultDelayConfig ReadFaultDelay(YamlNode node, string path)
        {
            var d = new FaultDelayConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "fixed_delay", "percentage"))
            {
                string p = $"{path}.{key}";
                d = key == "fixed_delay" ? d with { FixedDelay = Duration(value, p) } : d with { Percentage = Percentage(value, p) };
            }
            return d;
        }

        private FaultAbortConfig ReadFaultAbort(YamlNode node, string path)
        {
            var a = new FaultAbortConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "http_status", "percentage"))
            {
                string p = $"{path}.{key}";
                a = key == "http_status" ? a with { HttpStatus = Int(value, p, 200, 599) } : a with { Percentage = Percentage(value, p) };
            }
            return a;
        }

        private RateLimitConfig ReadRateLimit(YamlNode node, string path)
        {
            var r = new RateLimitConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "max_tokens", "tokens_per_fill", "fill_interval", "enable_x_ratelimit_headers"))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    "max_tokens" => r with { MaxTokens = Int(value, p, 1, RateLimitConfig.MaxTokensLimit) },
                    "tokens_per_fill" => r with { TokensPerFill = Int(value, p, 1, RateLimitConfig.MaxTokensLimit) },
                    "fill_interval" => r with { FillInterval = Duration(value, p) },
                    _ => r with { ResponseHeaders = RateLimitHeaders(value, p) },
                };
            }
            return r;
        }

        /// <summary>Envoy's enum: DRAFT_VERSION_03 turns the headers on for allowed responses, OFF leaves them to 429s.</summary>
        private bool RateLimitHeaders(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (s is "DRAFT_VERSION_03") return true;
            if (s is not (null or "OFF")) Error(node, path, $"expected DRAFT_VERSION_03 or OFF, got '{s}'");
            return false;
        }

        private CorsConfig ReadCors(YamlNode node, string path)
        {
            var c = new CorsConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "allow_origins", "allow_methods", "allow_headers", "expose_headers",
                         "max_age", "allow_credentials"))
            {
                string p = $"{path}.{key}";
                c = key switch
                {
                    "allow_origins" => c with { AllowOrigins = List(value, p, ReadStringMatch) },
                    "allow_methods" => c with { AllowMethods = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "allow_headers" => c with { AllowHeaders = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "expose_headers" => c with { ExposeHeaders = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "max_age" => c with { MaxAge = Duration(value, p) },
                    _ => c with { AllowCredentials = Bool(value, p) },
                };
            }
            return c;
        }

        /// <summary>{exact: v} | {prefix: v} | {regex: v} (Istio StringMatch).</summary>
        private StringMatchConfig ReadStringMatch(YamlNode node, string path)
        {
            StringMatchConfig? m = null;
            foreach ((string key, YamlNode value) in Fields(node, path, "exact", "prefix", "regex"))
            {
                string p = $"{path}.{key}";
                if (m is not null)
                {
                    Error(value, p, "give one of exact, prefix or regex");
                    continue;
                }
                StringMatchKind kind = key switch { "exact" => StringMatchKind.Exact, "prefix" => StringMatchKind.Prefix, _ => StringMatchKind.Regex };
                m = new StringMatchConfig(kind, Scalar(value, p) ?? "");
            }
            if (m is null && node is YamlMappingNode) Error(node, path, "give one of exact, prefix or regex");
            return m ?? new StringMatchConfig(StringMatchKind.Exact, "");
        }

        private MirrorConfig ReadMirror(YamlNode node, string path)
        {
            var m = new MirrorConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "cluster", "percentage", "max_in_flight", "timeout", "max_body_bytes"))
            {
                string p = $"{path}.{key}";
                m = key switch
                {
                    "cluster" => m with { Cluster = Scalar(value, p) ?? "" },
                    "percentage" => m with { Percentage = Percentage(value, p) },
                    "max_in_flight" => m with { MaxInFlight = Int(value, p, 1, 100_000) },
                    "max_body_bytes" => m with { MaxBodyBytes = Int(value, p, 0, MirrorConfig.MaxBodyBytesLimit) },
                    _ => m with { Timeout = Duration(value, p) },
                };
            }
            return m;
        }

        /// <summary>0-100, fractions allowed; a plain number or Istio's Percent {value: n}.</summary>
        private double Percentage(YamlNode node, string path)
        {
            if (node is YamlMappingNode)
            {
                double v = 100;
                foreach ((_, YamlNode value) in Fields(node, path, "value")) v = Percentage(value, $"{path}.value");
                return v;
            }
            string? s = Scalar(node, path);
            if (s is null) return 0;
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !(d >= 0 && d <= 100))
            {
                Error(node, path, $"expected a percentage from 0 to 100, got '{s}'");
                return 0;
            }
            return d;
        }
    }
}
