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

        private PeerAuthenticationMode ReadPeerAuthenticationMode(YamlNode node, string path)
        {
            string? s = Scalar(node, path);
            switch (s)
            {
                case "STRICT": return PeerAuthenticationMode.Strict;
                case "PERMISSIVE": return PeerAuthenticationMode.Permissive;
                case "DISABLE": return PeerAuthenticationMode.Disable;
                case "UNSET": return PeerAuthenticationMode.Unset;
                default:
                    if (s is not null) Error(node, path, $"expected STRICT, PERMISSIVE, DISABLE or UNSET, got '{s}'");
                    return PeerAuthenticationMode.Unset;
            }
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
                    default:
                        string? mode = Scalar(value, p);
                        ClientCertificateMode m = mode switch
                        {
                            "none" => ClientCertificateMode.None,
                            "optional" => ClientCertificateMode.Optional,
                            "required" => ClientCertificateMode.Required,
                            _ => ClientCertificateMode.None,
                        };
                        if (mode is not null and not ("none" or "optional" or "required"))
                            Error(value, p, $"expected none, optional or required, got '{mode}'");
                        t = t with { ClientCertificate = m };
                        break;
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
                    default:
                        string? mode = Scalar(value, p);
                        UpstreamTlsMode m = mode switch
                        {
                            "DISABLE" => UpstreamTlsMode.Disable,
                            "SIMPLE" => UpstreamTlsMode.Simple,
                            "MUTUAL" => UpstreamTlsMode.Mutual,
                            "ISTIO_MUTUAL" => UpstreamTlsMode.IstioMutual,
                            _ => UpstreamTlsMode.Simple,
                        };
                        if (mode is not null and not ("DISABLE" or "SIMPLE" or "MUTUAL" or "ISTIO_MUTUAL"))
                            Error(value, p, $"expected DISABLE, SIMPLE, MUTUAL or ISTIO_MUTUAL, got '{mode}'");
                        t = t with { Mode = m };
                        break;
                }
            }
            return t;
        }
    }
}
