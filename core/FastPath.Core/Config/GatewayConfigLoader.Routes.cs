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
            foreach ((string key, YamlNode value) in Fields(node, path, ["prefix", "cluster", "timeout", .. FilterFields]))
            {
                string p = $"{path}.{key}";
                r = key switch
                {
                    "prefix" => r with { Prefix = Scalar(value, p) ?? "" },
                    "cluster" => r with { Cluster = Scalar(value, p) ?? "" },
                    "timeout" => r with { Timeout = Duration(value, p) },
                    _ => r with { Filters = ReadFilterField(r.Filters, key, value, p) },
                };
            }
            return r;
        }
    }
}
