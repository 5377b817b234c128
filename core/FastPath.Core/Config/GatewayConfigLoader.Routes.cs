// Reads virtual hosts and their routes.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private VirtualHostConfig ReadVirtualHost(YamlNode node, string path)
        {
            var v = new VirtualHostConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "domains", "routes"))
            {
                string p = $"{path}.{key}";
                v = key switch
                {
                    "name" => v with { Name = Scalar(value, p) ?? "" },
                    "domains" => v with { Domains = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                    _ => v with { Routes = List(value, p, ReadRoute) },
                };
            }
            return v;
        }

        private RouteConfig ReadRoute(YamlNode node, string path)
        {
            var r = new RouteConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "prefix", "cluster", "timeout", "retries", "per_request_buffer_limit_bytes"))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    "prefix" => r with { Prefix = Scalar(value, p) ?? "" },
                    "cluster" => r with { Cluster = Scalar(value, p) ?? "" },
                    "retries" => r with { Retries = ReadRetries(value, p) },
                    "per_request_buffer_limit_bytes" => r with { PerRequestBufferLimitBytes = Int(value, p, 0, 64 * 1024 * 1024) },
                    _ => r with { Timeout = Duration(value, p) },
                };
            }
            return r;
        }
    }
}
