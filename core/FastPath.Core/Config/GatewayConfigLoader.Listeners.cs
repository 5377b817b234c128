// Reads listeners (address, port, what they serve).
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private ListenerConfig ReadListener(YamlNode node, string path)
        {
            var l = new ListenerConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "address", "port", "virtual_hosts",
                         "filter_chains", "listener_filters_timeout", "continue_on_listener_filters_timeout", "tls"))
            {
                string p = $"{path}.{key}";
                l = key switch
                {
                    "name" => l with { Name = Scalar(value, p) ?? "" },
                    "address" => l with { Address = ReadAddressOrHostPort(value, p, l.Address, out int? port), Port = port ?? l.Port },
                    "port" => l with { Port = Int(value, p, 0, 65535) },
                    "filter_chains" => l with { FilterChains = List(value, p, ReadFilterChain) },
                    "listener_filters_timeout" => l with { ListenerFiltersTimeout = Duration(value, p) },
                    "continue_on_listener_filters_timeout" => l with { ContinueOnListenerFiltersTimeout = Bool(value, p) },
                    "tls" => l with { Tls = ReadTlsServer(value, p) },
                    _ => l with { VirtualHosts = List(value, p, ReadVirtualHost) },
                };
            }
            return l;
        }
    }
}
