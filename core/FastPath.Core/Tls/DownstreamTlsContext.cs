// TLS termination for one listener or filter chain, built with the config snapshot: the certificates by SNI (exact
// name, then the longest "*.suffix", then the default), ALPN, versions and what client certificates must be. A
// handshake reads the chosen certificate's current material, so a rotated certificate serves the next handshake;
// the options object is rebuilt only when that material changes, so a handshake allocates only what SslStream needs.
using System.Net.Security;
using System.Security.Authentication;
using FastPath.Config;
using FastPath.Observability.Stats;
using FastPath.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace FastPath.Tls;

internal sealed class DownstreamTlsContext
{
    private static readonly ServerOptionsSelectionCallback SelectOptions = static (stream, hello, state, _) =>
        ValueTask.FromResult(((DownstreamTlsContext)state!).OptionsFor(hello.ServerName));

    private readonly Dictionary<string, int> _exact = new(StringComparer.OrdinalIgnoreCase);
    private readonly (string Suffix, int Index)[] _wildcards;
    private readonly ReloadableCertificate[] _certificates;
    private readonly int _default;
    private readonly CachedOptions?[] _options;
    private readonly List<SslApplicationProtocol>? _alpn;
    private readonly SslProtocols _protocols;
    private readonly bool _requestClientCertificate;

    /// <param name="certificates">Each certificate with the SNI names it serves (none: a default).</param>
    /// <param name="verifier">What client certificates must be; null: none is asked for.</param>
    public DownstreamTlsContext(IReadOnlyList<(ReloadableCertificate Certificate, IReadOnlyList<string> ServerNames)> certificates,
        IReadOnlyList<string> alpn, string minVersion, PeerVerifier? verifier, TimeSpan handshakeTimeout, bool allowPlaintext)
    {
        _certificates = new ReloadableCertificate[certificates.Count];
        var wildcards = new List<(string, int)>();
        _default = -1;
        for (int i = 0; i < certificates.Count; i++)
        {
            _certificates[i] = certificates[i].Certificate;
            if (certificates[i].ServerNames.Count == 0 && _default < 0) _default = i;
            foreach (string name in certificates[i].ServerNames)
            {
                if (name.StartsWith("*.", StringComparison.Ordinal)) wildcards.Add((name[1..], i)); // ".shop.example.com"
                else _exact.TryAdd(name, i);
            }
        }
        if (_default < 0) _default = 0; // no default listed: the first certificate, as Envoy does
        wildcards.Sort((a, b) => b.Item1.Length.CompareTo(a.Item1.Length));
        _wildcards = [.. wildcards];
        _options = new CachedOptions?[_certificates.Length];
        _alpn = alpn.Count == 0 ? null : alpn.Select(a => a == "h2" ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11).ToList();
        _protocols = TlsFailures.Protocols(minVersion == "TLSv1_3");
        Verifier = verifier;
        _requestClientCertificate = verifier is not null;
        HandshakeTimeout = handshakeTimeout;
        AllowPlaintext = allowPlaintext;
    }

    /// <summary>PeerAuthentication PERMISSIVE: a connection that does not start with a ClientHello is served in plaintext.</summary>
    public bool AllowPlaintext { get; }
    public PeerVerifier? Verifier { get; }
    public TimeSpan HandshakeTimeout { get; }

    /// <summary>The certificate for a server name: exact, then the longest wildcard suffix, then the default.</summary>
    public int Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName)) return _default;
        if (_exact.TryGetValue(serverName, out int i)) return i;
        foreach ((string suffix, int index) in _wildcards)
            if (serverName.Length > suffix.Length && serverName.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) return index;
        return _default;
    }

    public ReloadableCertificate Certificate(int index) => _certificates[index];

    private SslServerAuthenticationOptions OptionsFor(string? serverName)
    {
        int index = Select(serverName);
        CertificateMaterial material = _certificates[index].Current
            ?? throw new AuthenticationException($"certificate '{_certificates[index].Key}' has not been provided yet");
        CachedOptions? cached = Volatile.Read(ref _options[index]);
        if (cached is not null && ReferenceEquals(cached.Material, material)) return cached.Options;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = material.Context,
            ApplicationProtocols = _alpn,
            EnabledSslProtocols = _protocols,
            ClientCertificateRequired = _requestClientCertificate,
            RemoteCertificateValidationCallback = _requestClientCertificate ? PeerVerifier.Callback : null,
            CertificateRevocationCheckMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
        };
        Volatile.Write(ref _options[index], new CachedOptions(material, options));
        return options;
    }

    /// <summary>
    /// Runs the server handshake over the connection's pipes, bounded by the handshake timeout (armed on
    /// <paramref name="timeout"/>, which the caller may also cancel: a drain). On failure the reason is counted and
    /// logged, the TLS state released, and null returned: nothing is thrown to the listener.
    /// </summary>
    public async Task<TlsConnection?> AuthenticateAsync(ConnectionContext context, string listener, ILogger logger, CancellationTokenSource timeout)
    {
        var stream = new TlsStream(new DuplexPipeStream(context.Transport)) { Verifier = Verifier };
        timeout.CancelAfter(HandshakeTimeout);
        try
        {
            await stream.AuthenticateAsServerAsync(SelectOptions, this, timeout.Token).ConfigureAwait(false);
            TlsMetrics.DownstreamHandshakes.Inc();
            return new TlsConnection(context, stream);
        }
        catch (Exception e)
        {
            TlsFailure failure = TlsFailures.Classify(e, stream, timeout.IsCancellationRequested);
            TlsFailures.Count(failure, upstream: false);
            if (logger.IsEnabled(LogLevel.Information))
                TlsLog.DownstreamHandshakeFailed(logger, context.RemoteEndPoint?.ToString() ?? "unknown", listener, TlsFailures.Label(failure),
                    TlsFailures.Detail(e));
            await stream.DisposeAsync().ConfigureAwait(false);
            return null;
        }
    }

    /// <summary>What the handshake established, for the filters, authorization and the log.</summary>
    public static DownstreamTls Describe(TlsConnection connection)
    {
        TlsStream s = connection.Stream;
        SslApplicationProtocol alpn = s.NegotiatedApplicationProtocol;
        return new DownstreamTls
        {
            ServerName = string.IsNullOrEmpty(s.TargetHostName) ? null : s.TargetHostName,
            ApplicationProtocol = alpn == SslApplicationProtocol.Http11 ? "http/1.1" : alpn == SslApplicationProtocol.Http2 ? "h2"
                : alpn.Protocol.IsEmpty ? null : alpn.ToString(),
            Protocol = s.SslProtocol,
            Peer = s.Peer,
        };
    }

    private sealed record CachedOptions(CertificateMaterial Material, SslServerAuthenticationOptions Options);
}
