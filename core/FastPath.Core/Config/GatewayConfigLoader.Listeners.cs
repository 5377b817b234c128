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
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "address", "port", "virtual_hosts"))
            {
                string p = $"{path}.{key}";
                l = key switch
                {
                    "name" => l with { Name = Scalar(value, p) ?? "" },
                    "address" => l with { Address = ReadAddressOrHostPort(value, p, l.Address, out int? port), Port = port ?? l.Port },
                    "port" => l with { Port = Int(value, p, 0, 65535) },
                    _ => l with { VirtualHosts = List(value, p, ReadVirtualHost) },
                };
            }
            return l;
        }
    }
}
