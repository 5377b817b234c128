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
                         "filter_chains", "listener_filters_timeout", "continue_on_listener_filters_timeout", "tls", "http2"))
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
                    "http2" => l with { Http2 = ReadHttp2(value, p) },
                    _ => l with { VirtualHosts = List(value, p, ReadVirtualHost) },
                };
            }
            return l;
        }

        private Http2ProtocolConfig ReadHttp2(YamlNode node, string path)
        {
            var h = new Http2ProtocolConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "max_concurrent_streams", "initial_stream_window_size",
                         "initial_connection_window_size", "max_header_list_size", "hpack_table_size", "rate_interval",
                         "max_resets_per_interval", "max_inbound_control_frames_per_interval",
                         "max_inbound_window_update_frames_per_interval", "max_consecutive_inbound_frames_with_empty_payload",
                         "send_stall_timeout"))
            {
                string p = $"{path}.{key}";
                h = key switch
                {
                    "max_concurrent_streams" => h with { MaxConcurrentStreams = Int(value, p, 1, int.MaxValue) },
                    "initial_stream_window_size" => h with { InitialStreamWindowSize = Int(value, p, UpstreamHttp2Config.MinWindowSize, UpstreamHttp2Config.MaxWindowSize) },
                    "initial_connection_window_size" => h with { InitialConnectionWindowSize = Int(value, p, UpstreamHttp2Config.MinWindowSize, UpstreamHttp2Config.MaxWindowSize) },
                    "max_header_list_size" => h with { MaxHeaderListSize = Int(value, p, 1024, 16 << 20) },
                    "hpack_table_size" => h with { HpackTableSize = Int(value, p, 0, 1 << 20) },
                    "rate_interval" => h with { RateInterval = Duration(value, p) },
                    "max_resets_per_interval" => h with { MaxResetsPerInterval = Int(value, p, 1, int.MaxValue) },
                    "max_inbound_control_frames_per_interval" => h with { MaxInboundControlFramesPerInterval = Int(value, p, 1, int.MaxValue) },
                    "max_inbound_window_update_frames_per_interval" => h with { MaxInboundWindowUpdateFramesPerInterval = Int(value, p, 1, int.MaxValue) },
                    "max_consecutive_inbound_frames_with_empty_payload" => h with { MaxConsecutiveInboundFramesWithEmptyPayload = Int(value, p, 1, int.MaxValue) },
                    _ => h with { SendStallTimeout = Duration(value, p) },
                };
            }
            return h;
        }
    }
}
