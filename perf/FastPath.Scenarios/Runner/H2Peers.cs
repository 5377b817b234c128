// HAProxy, nginx and h2o set up for the HTTP/2 scenario as the issue measures them: TLS 1.3 with ALPN h2 toward the
// client, HTTP/1.1 keep-alive to the origin, one thread or worker on the proxy core, no logging. They share one
// self-signed ECDSA P-256 certificate written into the run's temp directory.

using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastPath.Scenarios.Origin;

namespace FastPath.Scenarios.Runner;

internal static class H2Peers
{
    public const string H2oPath = "/usr/bin/h2o";

    private const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>The certificate and key every TLS target of a run serves (cert.pem, key.pem, and both in one file for HAProxy).</summary>
    public sealed record TlsFiles(string CertificatePem, string KeyPem, string CombinedPem);

    public static TlsFiles WriteCertificate(string workDirectory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using X509Certificate2 cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        string certPem = cert.ExportCertificatePem() + "\n";
        string keyPem = key.ExportPkcs8PrivateKeyPem() + "\n";
        var files = new TlsFiles(Path.Combine(workDirectory, "cert.pem"), Path.Combine(workDirectory, "key.pem"), Path.Combine(workDirectory, "combined.pem"));
        File.WriteAllText(files.CertificatePem, certPem);
        File.WriteAllText(files.KeyPem, keyPem);
        File.WriteAllText(files.CombinedPem, certPem + keyPem);
        // nginx and h2o workers may run unprivileged: the files must stay readable to them.
        foreach (string f in new[] { files.CertificatePem, files.KeyPem, files.CombinedPem })
            File.SetUnixFileMode(f, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        return files;
    }

    /// <summary>The forwarding fields a peer's config adds: FastPath's three, or for h2o the two it can.</summary>
    public static string[] ForwardingFields(string peer, bool forwarding) =>
        !forwarding ? [] : peer == RunOptions.H2o ? OriginOptions.ForwardingFields[..2] : OriginOptions.ForwardingFields;

    public static string ExecutableFor(string peer) => peer switch
    {
        RunOptions.HaProxy => Peers.HaProxyPath,
        RunOptions.Nginx => Peers.NginxPath,
        _ => H2oPath,
    };

    /// <param name="forwarding">Peers add the forwarding fields FastPath adds (see <see cref="Peers.Start"/>).</param>
    public static ChildProcess Start(string peer, string workDirectory, TlsFiles tls, int listenPort, int originPort, int core, bool forwarding)
    {
        string executable = Tools.Resolve(ExecutableFor(peer))
            ?? throw new ScenarioException($"{peer} not found at {ExecutableFor(peer)} or on PATH (apt-get install {(peer == RunOptions.Nginx ? "nginx-light" : peer)}, or leave it out of --peers)");
        string dir = Path.Combine(workDirectory, peer + "-h2");
        // h2o started as root runs as nobody, and nginx's worker likewise: nothing they open may be private.
        Directory.CreateDirectory(dir);
        File.SetUnixFileMode(workDirectory, Traversable);
        File.SetUnixFileMode(dir, Traversable);
        switch (peer)
        {
            case RunOptions.HaProxy:
            {
                string config = Path.Combine(dir, "haproxy.cfg");
                File.WriteAllText(config, HaProxyConfig(tls, listenPort, originPort, forwarding) + "\n");
                return ChildProcess.StartPinned(peer, core, executable, ["-db", "-f", config]);
            }
            case RunOptions.Nginx:
            {
                string config = Path.Combine(dir, "nginx.conf");
                File.WriteAllText(config, NginxConfig(dir, tls, listenPort, originPort, forwarding) + "\n");
                return ChildProcess.StartPinned(peer, core, executable, ["-p", dir + "/", "-c", config, "-e", "stderr"]);
            }
            default:
            {
                string config = Path.Combine(dir, "h2o.conf");
                File.WriteAllText(config, H2oConfig(dir, tls, listenPort, originPort, forwarding) + "\n");
                return ChildProcess.StartPinned(peer, core, executable, ["-c", config]);
            }
        }
    }

    public static string HaProxyConfig(TlsFiles tls, int listenPort, int originPort, bool forwarding) => string.Create(CultureInfo.InvariantCulture, $$"""
        # Generated by FastPath.Scenarios (HTTP/2): one thread, TLS 1.3 + h2 to clients, HTTP/1.1 keep-alive to the origin.
        global
            nbthread 1
            maxconn 4096
            tune.ssl.default-dh-param 2048

        defaults
            mode http
            option http-keep-alive
            timeout connect 5s
            timeout client 30s
            timeout server 30s

        frontend scenarios
            bind 127.0.0.1:{{listenPort}} ssl crt {{tls.CombinedPem}} alpn h2,http/1.1 ssl-min-ver TLSv1.3{{(forwarding ? Peers.HaProxyForwarding : "")}}
            default_backend origin

        backend origin
            http-reuse always
            server origin 127.0.0.1:{{originPort}}
        """);

    public static string NginxConfig(string prefix, TlsFiles tls, int listenPort, int originPort, bool forwarding) =>
        Peers.NginxConfig(prefix, listenPort, originPort, forwarding, "ssl http2", string.Create(CultureInfo.InvariantCulture, $"""
                    ssl_certificate {tls.CertificatePem};
                    ssl_certificate_key {tls.KeyPem};
                    ssl_protocols TLSv1.3;

        """));

    /// <remarks>
    /// h2o adds x-forwarded-for, x-forwarded-proto and via on its own; with <paramref name="forwarding"/> it keeps the
    /// first two (it has no request-id generator short of an mruby handler per request), without it none.
    /// </remarks>
    public static string H2oConfig(string dir, TlsFiles tls, int listenPort, int originPort, bool forwarding) => string.Create(CultureInfo.InvariantCulture, $$"""
        # Generated by FastPath.Scenarios (HTTP/2): one thread, TLS 1.3 + h2 to clients, HTTP/1.1 keep-alive upstream.
        num-threads: 1
        error-log: /dev/stderr
        listen:
          host: 127.0.0.1
          port: {{listenPort}}
          ssl:
            certificate-file: {{tls.CertificatePem}}
            key-file: {{tls.KeyPem}}
            minimum-version: TLSv1.3
            ocsp-update-interval: 0
        proxy.timeout.keepalive: 30000
        proxy.emit-x-forwarded-headers: {{(forwarding ? "ON" : "OFF")}}
        proxy.emit-via-header: OFF
        hosts:
          "127.0.0.1:{{listenPort}}":
            paths:
              "/":
                proxy.reverse.url: http://127.0.0.1:{{originPort}}/
        """);
}
