// TLS origination to one cluster's endpoints (Istio DestinationRule SIMPLE, MUTUAL, ISTIO_MUTUAL): SNI (configured,
// else the endpoint's host name), ALPN, the origin's certificate verified against a trust bundle and the expected
// names, and the client certificate for mutual TLS, read at each connect so a rotated one is presented at once.
// An HTTP/2 cluster offers only h2 and refuses an origin that does not select it (RFC 9113 §3.2); an auto cluster
// offers both and lets the pool follow the origin's choice.
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using FastPath.Config;
using FastPath.Observability.Stats;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastPath.Tls;

internal sealed class UpstreamTlsContext
{
    private static readonly List<SslApplicationProtocol> Http11Only = [SslApplicationProtocol.Http11];
    private static readonly List<SslApplicationProtocol> H2Only = [SslApplicationProtocol.Http2];

    private readonly string? _sni;
    private readonly List<SslApplicationProtocol>? _alpn;
    private readonly bool _requireH2;
    private readonly SslProtocols _protocols;
    private readonly ReloadableCertificate? _clientCertificate;
    private readonly PeerVerifier _verifier;
    private readonly ILogger? _logger;

    /// <param name="protocol">What the pool speaks over the connection: it picks the default ALPN, and HTTP/2 requires h2.</param>
    public UpstreamTlsContext(UpstreamTlsConfig config, UpstreamProtocol protocol, ReloadableCertificate? clientCertificate, PeerVerifier verifier,
        ILogger? logger)
    {
        _sni = config.Sni;
        _requireH2 = protocol == UpstreamProtocol.Http2;
        IReadOnlyList<string> alpn = config.Alpn ?? protocol switch
        {
            UpstreamProtocol.Http2 => ["h2"],
            UpstreamProtocol.Auto => ["h2", "http/1.1"],
            _ => ["http/1.1"],
        };
        _alpn = alpn.Count == 0 ? null : alpn.Select(a => a == "h2" ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11).ToList();
        _protocols = TlsFailures.Protocols(config.MinVersion == "TLSv1_3");
        _clientCertificate = clientCertificate;
        _verifier = verifier;
        _logger = logger;
    }

    /// <summary>
    /// Runs the client handshake over a freshly opened connection. On failure the connection is closed, the reason
    /// counted and logged, and an IOException thrown, which the pool and the TCP proxy treat as a connect failure.
    /// </summary>
    public async ValueTask<ConnectionContext> AuthenticateAsync(ConnectionContext connection, string host, TimeSpan timeout)
    {
        var stream = new TlsStream(new DuplexPipeStream(connection.Transport)) { Verifier = _verifier };
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await stream.AuthenticateAsClientAsync(Options(host, _alpn), cts.Token).ConfigureAwait(false);
            if (_requireH2 && stream.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            {
                // The peer's choice is not echoed: it is the origin's bytes.
                stream.Failure = TlsFailure.AlpnMismatch;
                throw new AuthenticationException(stream.NegotiatedApplicationProtocol.Protocol.IsEmpty
                    ? "the origin selected no ALPN protocol; the cluster speaks HTTP/2 (h2) only"
                    : "the origin selected an ALPN protocol other than h2; the cluster speaks HTTP/2 only");
            }
            TlsMetrics.UpstreamHandshakes.Inc();
            return new TlsConnection(connection, stream, ownsTransport: true);
        }
        catch (Exception e)
        {
            TlsFailure failure = TlsFailures.Classify(e, stream, cts.IsCancellationRequested);
            TlsFailures.Count(failure, upstream: true);
            if (_logger is not null) TlsLog.UpstreamHandshakeFailed(_logger, FormatEndpoint(connection.RemoteEndPoint, host), TlsFailures.Label(failure), TlsFailures.Detail(e));
            await stream.DisposeAsync().ConfigureAwait(false);
            try { await connection.DisposeAsync().ConfigureAwait(false); } catch { /* closing anyway */ }
            throw new IOException($"TLS handshake with the upstream failed: {TlsFailures.Label(failure)}", e);
        }
    }

    /// <summary>
    /// The same handshake over a plain stream (an HTTP health probe's socket): the TLS stream, or an IOException
    /// after counting and logging the failure like a connection's. The probe offers only the protocol it speaks.
    /// </summary>
    public async Task<Stream> AuthenticateStreamAsync(Stream inner, string host, CancellationToken cancel, bool http2 = false)
    {
        var stream = new TlsStream(inner) { Verifier = _verifier };
        try
        {
            await stream.AuthenticateAsClientAsync(Options(host, http2 ? H2Only : Http11Only), cancel).ConfigureAwait(false);
            if (http2 && stream.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            {
                stream.Failure = TlsFailure.AlpnMismatch;
                throw new AuthenticationException("the origin did not select h2 by ALPN; the health check speaks HTTP/2");
            }
            TlsMetrics.UpstreamHandshakes.Inc();
            return stream;
        }
        catch (Exception e)
        {
            TlsFailure failure = TlsFailures.Classify(e, stream, cancel.IsCancellationRequested);
            TlsFailures.Count(failure, upstream: true);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"TLS handshake failed: {TlsFailures.Label(failure)}", e);
        }
    }

    /// <summary>Whether ALPN on this upstream connection selected h2 (protocol auto follows it).</summary>
    public static bool SelectedHttp2(ConnectionContext connection) =>
        connection is TlsConnection tls && tls.Stream.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2;

    private SslClientAuthenticationOptions Options(string host, List<SslApplicationProtocol>? alpn) => new()
    {
        // An IP address is never sent as SNI (RFC 6066 section 3); it still names what the certificate must match.
        TargetHost = _sni ?? host,
        ApplicationProtocols = alpn,
        EnabledSslProtocols = _protocols,
        ClientCertificateContext = _clientCertificate?.Current?.Context,
        RemoteCertificateValidationCallback = PeerVerifier.Callback,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
    };

    private static string FormatEndpoint(EndPoint? endPoint, string host) => endPoint is null ? host : $"{host} ({endPoint})";
}
