// Reads virtual hosts and their routes: match, action (cluster, weighted_clusters, redirect, direct_response) and
// rewrite. Shapes are read here; which combinations make sense is GatewayConfigValidator's job.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private VirtualHostConfig ReadVirtualHost(YamlNode node, string path)
        {
            var v = new VirtualHostConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, ["name", "domains", "routes", .. FilterFields]))
            {
                string p = $"{path}.{key}";
                v = key switch
                {
                    "name" => v with { Name = Scalar(value, p) ?? "" },
                    "domains" => v with { Domains = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "routes" => v with { Routes = List(value, p, ReadRoute) },
                    _ => v with { Filters = ReadFilterField(v.Filters, key, value, p) },
                };
            }
            return v;
        }

        private RouteConfig ReadRoute(YamlNode node, string path)
        {
            var r = new RouteConfig();
            YamlNode? shorthand = null, match = null;
            foreach ((string key, YamlNode value) in Fields(node, path, ["name", "prefix", "match", "cluster", "weighted_clusters",
                         "redirect", "direct_response", "rewrite", "timeout", "retries", "per_request_buffer_limit_bytes", .. FilterFields]))
            {
                string p = $"{path}.{key}";
                if (key == "prefix") shorthand = value;
                if (key == "match") match = value;
                r = key switch
                {
                    "name" => r with { Name = Scalar(value, p) ?? "" },
                    "prefix" => r with { Prefix = Scalar(value, p) ?? "" },
                    "match" => r with { Match = ReadRouteMatch(value, p) },
                    "cluster" => r with { Cluster = Scalar(value, p) ?? "" },
                    "weighted_clusters" => r with { WeightedClusters = List(value, p, ReadWeightedCluster) },
                    "redirect" => r with { Redirect = ReadRedirect(value, p) },
                    "direct_response" => r with { DirectResponse = ReadDirectResponse(value, p) },
                    "rewrite" => r with { Rewrite = ReadRewrite(value, p) },
                    "timeout" => r with { Timeout = Duration(value, p) },
                    "retries" => r with { Retries = ReadRetries(value, p) },
                    "per_request_buffer_limit_bytes" => r with { PerRequestBufferLimitBytes = Int(value, p, 0, 64 * 1024 * 1024) },
                    _ => r with { Filters = ReadFilterField(r.Filters, key, value, p) },
                };
            }
            if (shorthand is not null && match is not null)
                Error(shorthand, $"{path}.prefix", "'prefix' on a route is shorthand for 'match: {prefix: ...}': use one or the other");
            return r;
        }

        private RouteMatchConfig ReadRouteMatch(YamlNode node, string path)
        {
            // No path kind given: the route matches every path (Istio's HTTPMatchRequest without uri).
            var m = new RouteMatchConfig { Prefix = null };
            foreach ((string key, YamlNode value) in Fields(node, path, "prefix", "path", "regex", "case_sensitive", "methods",
                         "headers", "query_params"))
            {
                string p = $"{path}.{key}";
                m = key switch
                {
                    "prefix" => m with { Prefix = Scalar(value, p) ?? "" },
                    "path" => m with { Path = Scalar(value, p) ?? "" },
                    "regex" => m with { Regex = Scalar(value, p) ?? "" },
                    "case_sensitive" => m with { CaseSensitive = Bool(value, p) },
                    "methods" => m with { Methods = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    "headers" => m with { Headers = List(value, p, ReadHeaderMatch) },
                    _ => m with { QueryParams = List(value, p, ReadQueryParamMatch) },
                };
            }
            if (m.Prefix is null && m.Path is null && m.Regex is null) m = m with { Prefix = "/" };
            return m;
        }

        private HeaderMatchConfig ReadHeaderMatch(YamlNode node, string path)
        {
            var h = new HeaderMatchConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "exact", "prefix", "suffix", "regex", "present", "absent", "invert"))
            {
                string p = $"{path}.{key}";
                h = key switch
                {
                    "name" => h with { Name = Scalar(value, p) ?? "" },
                    "exact" => h with { Exact = Scalar(value, p) ?? "" },
                    "prefix" => h with { Prefix = Scalar(value, p) ?? "" },
                    "suffix" => h with { Suffix = Scalar(value, p) ?? "" },
                    "regex" => h with { Regex = Scalar(value, p) ?? "" },
                    "present" => h with { Present = True(value, p) },
                    "absent" => h with { Absent = True(value, p) },
                    _ => h with { Invert = Bool(value, p) },
                };
            }
            return h;
        }

        private QueryParamMatchConfig ReadQueryParamMatch(YamlNode node, string path)
        {
            var q = new QueryParamMatchConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "exact", "prefix", "regex", "present"))
            {
                string p = $"{path}.{key}";
                q = key switch
                {
                    "name" => q with { Name = Scalar(value, p) ?? "" },
                    "exact" => q with { Exact = Scalar(value, p) ?? "" },
                    "prefix" => q with { Prefix = Scalar(value, p) ?? "" },
                    "regex" => q with { Regex = Scalar(value, p) ?? "" },
                    _ => q with { Present = True(value, p) },
                };
            }
            return q;
        }

        private WeightedClusterConfig ReadWeightedCluster(YamlNode node, string path)
        {
            var w = new WeightedClusterConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "cluster", "weight", "request_headers", "response_headers"))
            {
                string p = $"{path}.{key}";
                w = key switch
                {
                    "cluster" => w with { Cluster = Scalar(value, p) ?? "" },
                    "weight" => w with { Weight = Int(value, p, 0, 1_000_000) },
                    "request_headers" => w with { RequestHeaders = ReadHeaderOperations(value, p) },
                    _ => w with { ResponseHeaders = ReadHeaderOperations(value, p) },
                };
            }
            return w;
        }

        private RedirectConfig ReadRedirect(YamlNode node, string path)
        {
            var r = new RedirectConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "scheme", "host", "port", "path", "prefix_rewrite",
                         "response_code", "strip_query"))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    "scheme" => r with { Scheme = Scalar(value, p) ?? "" },
                    "host" => r with { Host = Scalar(value, p) ?? "" },
                    "port" => r with { Port = Int(value, p, 1, 65535) },
                    "path" => r with { Path = Scalar(value, p) ?? "" },
                    "prefix_rewrite" => r with { PrefixRewrite = Scalar(value, p) ?? "" },
                    "response_code" => r with { ResponseCode = Int(value, p, 0, 999) },
                    _ => r with { StripQuery = Bool(value, p) },
                };
            }
            return r;
        }

        private DirectResponseConfig ReadDirectResponse(YamlNode node, string path)
        {
            var d = new DirectResponseConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "status", "body"))
            {
                string p = $"{path}.{key}";
                d = key == "status" ? d with { Status = Int(value, p, 0, 999) } : d with { Body = Scalar(value, p) ?? "" };
            }
            return d;
        }

        private RewriteConfig ReadRewrite(YamlNode node, string path)
        {
            var r = new RewriteConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "prefix", "regex", "host"))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    "prefix" => r with { Prefix = Scalar(value, p) ?? "" },
                    "host" => r with { Host = Scalar(value, p) ?? "" },
                    _ => r with { Regex = ReadRegexRewrite(value, p) },
                };
            }
            return r;
        }

        private RegexRewriteConfig ReadRegexRewrite(YamlNode node, string path)
        {
            var r = new RegexRewriteConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "pattern", "substitution"))
            {
                string p = $"{path}.{key}";
                r = key == "pattern" ? r with { Pattern = Scalar(value, p) ?? "" } : r with { Substitution = Scalar(value, p) ?? "" };
            }
            return r;
        }

        /// <summary>A flag whose only meaningful value is true (present: true); false would read as its opposite.</summary>
        private bool True(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (s is null) return false;
            if (s is "true" or "True" or "TRUE") return true;
            Error(node, path, $"expected true, got '{s}'");
            return false;
        }
    }
}
