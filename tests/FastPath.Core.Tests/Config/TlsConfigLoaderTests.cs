// TLS config: mesh, peer_authentication, listener/chain tls and cluster tls read into records, file paths resolved
// against the config's directory, and every mistake reported with its line and field path.
using FastPath.Config;
using FastPath.Core.Tests.Tls;

namespace FastPath.Core.Tests.Config;

public sealed class TlsConfigLoaderTests : IDisposable
{
    private readonly TestCertificates _pki = new();
    private readonly string _file;

    public TlsConfigLoaderTests()
    {
        _pki.WritePem("workload", _pki.Leaf("spiffe://cluster.local/ns/default/sa/gw", dns: "gw.example"));
        _pki.WritePem("shop", _pki.Leaf(dns: "shop.example.com"));
        _pki.WritePem("plain", _pki.Leaf(dns: "plain.example"));
        _pki.WriteCa();
        _file = Path.Combine(_pki.Directory, "gateway.yaml");
    }

    private const string Valid = """
        mesh:
          trust_domain: cluster.local
          certificate: {cert_file: workload.pem, key_file: workload.key}
          trust_bundle: ca.pem
        peer_authentication:
          mode: STRICT
          port_level_mtls: {8081: PERMISSIVE, 8082: {mode: DISABLE}}
        listeners:
          - name: edge
            port: 8443
            tls:
              certificates:
                - {cert_file: shop.pem, key_file: shop.key, server_names: [shop.example.com, "*.shop.example.com"]}
              alpn: [h2, http/1.1]
              min_version: TLSv1_3
              client_certificate: optional
              handshake_timeout: 3s
            virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: backend}]}]
          - name: inbound
            port: 8081
            virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: backend}]}]
        clusters:
          - name: backend
            endpoints: [127.0.0.1:9000]
            tls: {mode: ISTIO_MUTUAL, subject_alt_names: ["spiffe://cluster.local/ns/default/sa/backend"]}
          - name: external
            endpoints: [127.0.0.1:9001]
            tls: {mode: MUTUAL, sni: api.example.com, trust_bundle: ca.pem, cert_file: shop.pem, key_file: shop.key, alpn: [http/1.1]}
        """;

    [Fact]
    public void Parse_FullTlsConfig_RecordsWithAbsolutePaths()
    {
        GatewayConfig c = GatewayConfigLoader.Parse(Valid, _file);

        Assert.Equal("cluster.local", c.Mesh!.TrustDomain);
        Assert.Equal(Path.Combine(_pki.Directory, "workload.pem"), c.Mesh.Certificate!.CertFile);
        Assert.Equal(Path.Combine(_pki.Directory, "ca.pem"), c.Mesh.TrustBundle);
        Assert.Equal(PeerAuthenticationMode.Strict, c.PeerAuthentication.ModeFor(8443, hasMesh: true));
        Assert.Equal(PeerAuthenticationMode.Permissive, c.PeerAuthentication.ModeFor(8081, hasMesh: true));
        Assert.Equal(PeerAuthenticationMode.Disable, c.PeerAuthentication.ModeFor(8082, hasMesh: true));
        TlsServerConfig tls = c.Listeners[0].Tls!;
        Assert.Equal(["shop.example.com", "*.shop.example.com"], tls.Certificates[0].ServerNames);
        Assert.Equal(["h2", "http/1.1"], tls.Alpn);
        Assert.Equal("TLSv1_3", tls.MinVersion);
        Assert.Equal(ClientCertificateMode.Optional, tls.ClientCertificate);
        Assert.Equal(TimeSpan.FromSeconds(3), tls.HandshakeTimeout);
        Assert.Equal(UpstreamTlsMode.IstioMutual, c.Clusters[0].Tls!.Mode);
        Assert.Equal(UpstreamTlsMode.Mutual, c.Clusters[1].Tls!.Mode);
        Assert.Equal("api.example.com", c.Clusters[1].Tls!.Sni);
    }

    [Fact]
    public void ModeFor_NoPeerAuthentication_PermissiveWithMeshElseDisable()
    {
        var pa = new PeerAuthenticationConfig();
        Assert.Equal(PeerAuthenticationMode.Permissive, pa.ModeFor(80, hasMesh: true));
        Assert.Equal(PeerAuthenticationMode.Disable, pa.ModeFor(80, hasMesh: false));
    }

    private List<ConfigError> Errors(string yaml) =>
        Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, _file)).Errors.ToList();

    [Fact]
    public void Parse_MtlsWithoutMesh_ErrorNamesThePeerAuthenticationFieldAndListener()
    {
        List<ConfigError> errors = Errors("""
            peer_authentication: {mode: PERMISSIVE, port_level_mtls: {8081: STRICT}}
            listeners:
              - {name: a, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]}
              - {name: inbound, port: 8081, virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]}
            clusters: [{name: b, endpoints: [127.0.0.1:9000], tls: {mode: ISTIO_MUTUAL}}]
            """);

        Assert.Contains(errors, e => e.Path == "peer_authentication.mode" && e.Message.Contains("'a'") && e.Line == 1);
        Assert.Contains(errors, e => e.Path == "peer_authentication.port_level_mtls.8081" && e.Message.Contains("'inbound'"));
        Assert.Contains(errors, e => e.Path == "clusters[0].tls.mode" && e.Message.Contains("mesh"));
    }

    [Fact]
    public void Parse_BadValues_EachReportedWithLine()
    {
        List<ConfigError> errors = Errors("""
            mesh:
              trust_domain: Cluster.Local
              certificate: {cert_file: plain.pem, key_file: plain.key}
              trust_bundle: nowhere.pem
            listeners:
              - name: edge
                port: 8443
                tls:
                  certificates:
                    - {cert_file: shop.pem, key_file: plain.key, server_names: ["bad name"]}
                    - {cert_file: plain.pem, key_file: plain.key}
                    - {cert_file: plain.pem, key_file: plain.key}
                  client_certificate: sometimes
                  min_version: SSLv3
                  alpn: [spdy/3]
                  ciphers: [RC4]
                virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]
            clusters: [{name: b, endpoints: [127.0.0.1:9000], tls: {mode: SIMPLE, cert_file: plain.pem, key_file: plain.key}}]
            """);

        Assert.Contains(errors, e => e.Path == "mesh.trust_domain" && e.Line == 2);
        Assert.Contains(errors, e => e.Path == "mesh.certificate.cert_file" && e.Message.Contains("URI SAN")); // no URI SAN
        Assert.Contains(errors, e => e.Path == "mesh.trust_bundle" && e.Line == 4);
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.certificates[0].cert_file" && e.Message.Contains("cannot load"));
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.certificates[0].server_names[0]");
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.certificates[2]" && e.Message.Contains("default"));
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.client_certificate" && e.Line == 13);
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.min_version" && e.Line == 14);
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.alpn[0]");
        Assert.Contains(errors, e => e.Path == "listeners[0].tls.ciphers" && e.Message.Contains("unknown field"));
        Assert.Contains(errors, e => e.Path == "clusters[0].tls.cert_file" && e.Message.Contains("MUTUAL"));
    }

    [Theory]
    [InlineData("{mode: SIMPLE, trust_bundle: ca.pem}")]
    [InlineData("{mode: MUTUAL, trust_bundle: ca.pem, cert_file: shop.pem, key_file: shop.key}")]
    [InlineData("{mode: ISTIO_MUTUAL}")]
    [InlineData("{mode: SIMPLE, alpn: [h2]}")]
    public void Parse_Http2ClusterWithTls_AcceptedInEveryMode(string tls)
    {
        GatewayConfig c = GatewayConfigLoader.Parse($$"""
            mesh:
              trust_domain: cluster.local
              certificate: {cert_file: workload.pem, key_file: workload.key}
              trust_bundle: ca.pem
            listeners: [{name: a, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]}]
            clusters: [{name: b, endpoints: [127.0.0.1:9000], protocol: http2, tls: {{tls}}}]
            """, _file);

        Assert.Equal(UpstreamProtocol.Http2, c.Clusters[0].Protocol);
        Assert.NotNull(c.Clusters[0].Tls);
    }

    [Fact]
    public void Parse_Http2ClusterOfferingHttp11_ErrorNamesAlpn()
    {
        List<ConfigError> errors = Errors("""
            listeners: [{name: a, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]}]
            clusters: [{name: b, endpoints: [127.0.0.1:9000], protocol: http2, tls: {mode: SIMPLE, alpn: [h2, http/1.1]}}]
            """);

        ConfigError e = Assert.Single(errors);
        Assert.Equal("clusters[0].tls.alpn", e.Path);
        Assert.Contains("only h2", e.Message);
    }

    [Fact]
    public void Parse_ProtocolAuto_NeedsTlsAndBothAlpnProtocols()
    {
        List<ConfigError> errors = Errors("""
            listeners: [{name: a, port: 8080, virtual_hosts: [{domains: ["*"], routes: [{prefix: /, cluster: b}]}]}]
            clusters:
              - {name: b, endpoints: [127.0.0.1:9000], protocol: auto}
              - {name: c, endpoints: [127.0.0.1:9001], protocol: auto, tls: {mode: SIMPLE, alpn: [h2]}}
              - {name: d, endpoints: [127.0.0.1:9002], protocol: auto, tls: {mode: SIMPLE}, http2: {max_concurrent_streams: 50}}
            """);

        Assert.Equal(2, errors.Count);
        Assert.Contains(errors, e => e.Path == "clusters[0].protocol" && e.Message.Contains("needs tls") && e.Line == 3);
        Assert.Contains(errors, e => e.Path == "clusters[1].tls.alpn" && e.Message.Contains("h2 and http/1.1"));
    }

    public void Dispose() => _pki.Dispose();
}
