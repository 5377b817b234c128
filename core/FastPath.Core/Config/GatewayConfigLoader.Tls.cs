// Reads TLS settings: mesh, peer_authentication, listener and filter-chain tls (termination), cluster tls
// (origination). Paths are resolved against the config file's directory here, so later stages see absolute paths.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private string? FilePath(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            if (string.IsNullOrWhiteSpace(s)) return s;
            string? dir = Path.GetDirectoryName(Path.GetFullPath(file));
            return dir is null ? s : Path.GetFullPath(s, dir);
        }

        private MeshConfig ReadMesh(YamlNode node, string path)
        {
            var m = new MeshConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "trust_domain", "certificate", "trust_bundle"))
            {
                string p = $"{path}.{key}";
                m = key switch
                {
                    "trust_domain" => m with { TrustDomain = Scalar(value, p) ?? "" },
                    "certificate" => m with { Certificate = ReadCertificateFiles(value, p, allowServerNames: false) },
                    _ => m with { TrustBundle = FilePath(value, p) },
                };
            }
            return m;
        }

        private CertificateFileConfig ReadCertificateFiles(YamlNode node, string path, bool allowServerNames)
        {
            var c = new CertificateFileConfig();
            string[] allowed = allowServerNames ? ["cert_file", "key_file", "server_names"] : ["cert_file", "key_file"];
            foreach ((string key, YamlNode value) in Fields(node, path, allowed))
            {
                string p = $"{path}.{key}";
                c = key switch
                {
                    "cert_file" => c with { CertFile = FilePath(value, p) ?? "" },
                    "key_file" => c with { KeyFile = FilePath(value, p) ?? "" },
                    _ => c with { ServerNames = List(value, p, (n, q) => Scalar(n, q) ?? "") },
                };
            }
            return c;
        }

        private PeerAuthenticationConfig ReadPeerAuthentication(YamlNode node, string path)
        {
            var pa = new PeerAuthenticationConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "mode", "port_level_mtls"))
            {
                string p = $"{path}.{key}";
                if (key == "mode")
                {
                    pa = pa with { Mode = ReadPeerAuthenticationMode(value, p) };
                    continue;
                }
                var ports = new Dictionary<int, PeerAuthenticationMode>();
                if (value is not YamlMappingNode map)
                {
                    Error(value, p, "expected a mapping of port: mode");
                    continue;
                }
                foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
                {
                    string portPath = $"{p}.{(pair.Key as YamlScalarNode)?.Value}";
                    Remember(portPath, pair.Key);
                    int port = Int(pair.Key, portPath, 1, 65535);
                    // Istio writes {8443: {mode: STRICT}}; the short form {8443: STRICT} is accepted too.
                    YamlNode modeNode = pair.Value;
                    if (modeNode is YamlMappingNode)
                    {
                        foreach ((string _, YamlNode v) in Fields(modeNode, portPath, "mode")) modeNode = v;
                    }
                    ports[port] = ReadPeerAuthenticationMode(modeNode, portPath);
                }
                pa = pa with { PortLevelMtls = ports };
            }
            return pa;
        }

        private static readonly (string, PeerAuthenticationMode)[] PeerAuthenticationModes =
            [("STRICT", PeerAuthenticationMode.Strict), ("PERMISSIVE", PeerAuthenticationMode.Permissive),
             ("DISABLE", PeerAuthenticationMode.Disable), ("UNSET", PeerAuthenticationMode.Unset)];

        private static readonly (string, ClientCertificateMode)[] ClientCertificateModes =
            [("none", ClientCertificateMode.None), ("optional", ClientCertificateMode.Optional), ("required", ClientCertificateMode.Required)];

        private static readonly (string, UpstreamTlsMode)[] UpstreamTlsModes =
            [("DISABLE", UpstreamTlsMode.Disable), ("SIMPLE", UpstreamTlsMode.Simple), ("MUTUAL", UpstreamTlsMode.Mutual),
             ("ISTIO_MUTUAL", UpstreamTlsMode.IstioMutual)];

        private PeerAuthenticationMode ReadPeerAuthenticationMode(YamlNode node, string path) =>
            OneOf(node, path, PeerAuthenticationModes, PeerAuthenticationMode.Unset);

        /// <summary>A scalar that must be one of the names (exact case); the fallback after reporting anything else.</summary>
        private T OneOf<T>(YamlNode node, string path, (string Name, T Value)[] values, T fallback)
        {
            string? s = Scalar(node, path);
            foreach ((string name, T value) in values)
                if (s == name) return value;
            if (s is not null) Error(node, path, $"expected {string.Join(", ", values.Select(v => v.Name))}, got '{s}'");
            return fallback;
        }

        private TlsServerConfig ReadTlsServer(YamlNode node, string path)
        {
            var t = new TlsServerConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "certificates", "alpn", "min_version", "client_certificate",
                         "trust_bundle", "handshake_timeout"))
            {
                string p = $"{path}.{key}";
                switch (key)
                {
                    case "certificates": t = t with { Certificates = List(value, p, (n, q) => ReadCertificateFiles(n, q, allowServerNames: true)) }; break;
                    case "alpn": t = t with { Alpn = List(value, p, (n, q) => Scalar(n, q) ?? "") }; break;
                    case "min_version": t = t with { MinVersion = Scalar(value, p) ?? "" }; break;
                    case "trust_bundle": t = t with { TrustBundle = FilePath(value, p) }; break;
                    case "handshake_timeout": t = t with { HandshakeTimeout = Duration(value, p) }; break;
                    default: t = t with { ClientCertificate = OneOf(value, p, ClientCertificateModes, ClientCertificateMode.None) }; break;
                }
            }
            return t;
        }

        private UpstreamTlsConfig ReadUpstreamTls(YamlNode node, string path)
        {
            var t = new UpstreamTlsConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "mode", "sni", "trust_bundle", "alpn", "cert_file", "key_file",
                         "subject_alt_names", "min_version"))
            {
                string p = $"{path}.{key}";
                switch (key)
                {
                    case "sni": t = t with { Sni = Scalar(value, p) }; break;
                    case "trust_bundle": t = t with { TrustBundle = FilePath(value, p) }; break;
                    case "alpn": t = t with { Alpn = List(value, p, (n, q) => Scalar(n, q) ?? "") }; break;
                    case "cert_file": t = t with { CertFile = FilePath(value, p) }; break;
                    case "key_file": t = t with { KeyFile = FilePath(value, p) }; break;
                    case "subject_alt_names": t = t with { SubjectAltNames = List(value, p, (n, q) => Scalar(n, q) ?? "") }; break;
                    case "min_version": t = t with { MinVersion = Scalar(value, p) ?? "" }; break;
                    default: t = t with { Mode = OneOf(value, p, UpstreamTlsModes, UpstreamTlsMode.Simple) }; break;
                }
            }
            return t;
        }
    }
}
