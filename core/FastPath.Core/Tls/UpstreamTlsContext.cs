// TLS origination to one cluster's endpoints (Istio DestinationRule SIMPLE, MUTUAL, ISTIO_MUTUAL): SNI (configured,
// else the endpoint's host name), ALPN, the origin's certificate verified against a trust bundle and the expected
// names, and the client certificate for mutual TLS, read at each connect so a rotated one is presented at once.
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
    private readonly string? _sni;
    private readonly List<SslApplicationProtocol>? _alpn;
    private readonly SslProtocols _protocols;
    private readonly ReloadableCertificate? _clientCertificate;
    private readonly PeerVerifier _verifier;
    private readonly ILogger? _logger;

    public UpstreamTlsContext(UpstreamTlsConfig config, ReloadableCertificate? clientCertificate, PeerVerifier verifier, ILogger? logger)
    {
        _sni = config.Sni;
        _alpn = config.Alpn.Count == 0 ? null
            : config.Alpn.Select(a => a == "h2" ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11).ToList();
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
            await stream.AuthenticateAsClientAsync(Options(host), cts.Token).ConfigureAwait(false);
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
    /// after counting and logging the failure like a connection's.
    /// </summary>
    public async Task<Stream> AuthenticateStreamAsync(Stream inner, string host, CancellationToken cancel)
    {
        var stream = new TlsStream(inner) { Verifier = _verifier };
        try
        {
            await stream.AuthenticateAsClientAsync(Options(host), cancel).ConfigureAwait(false);
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

    private SslClientAuthenticationOptions Options(string host) => new()
    {
        // An IP address is never sent as SNI (RFC 6066 section 3); it still names what the certificate must match.
        TargetHost = _sni ?? host,
        ApplicationProtocols = _alpn,
        EnabledSslProtocols = _protocols,
        ClientCertificateContext = _clientCertificate?.Current?.Context,
        RemoteCertificateValidationCallback = PeerVerifier.Callback,
        CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
    };

    private static string FormatEndpoint(EndPoint? endPoint, string host) => endPoint is null ? host : $"{host} ({endPoint})";
}
