// Why a TLS handshake failed, in either direction; the metric label and the log reason. Zero is no failure.
using System.Security.Authentication;
using FastPath.Observability.Stats;
using Prometheus;

namespace FastPath.Tls;

internal enum TlsFailure : byte
{
    None,
    /// <summary>A client certificate was required and none was sent.</summary>
    NoClientCert,
    /// <summary>The peer's chain does not lead to a root in the trust bundle (or is self-signed, or partial).</summary>
    UnknownCa,
    /// <summary>The peer's certificate (or one in its chain) is expired or not yet valid.</summary>
    Expired,
    /// <summary>The peer's certificate does not name what was expected (SAN list, SPIFFE trust domain).</summary>
    WrongSan,
    /// <summary>No protocol version both sides accept (TLS 1.0/1.1 clients, min_version TLSv1_3 vs 1.2).</summary>
    ProtocolVersion,
    HandshakeTimeout,
    /// <summary>Plaintext on a port that requires TLS (PeerAuthentication STRICT, or a chain with tls).</summary>
    Plaintext,
    /// <summary>No ALPN protocol agreed where one is required: an HTTP/2 cluster's origin that does not select h2.</summary>
    AlpnMismatch,
    Other,
}

internal static class TlsFailures
{
    private static readonly Counter.Child[] DownstreamCounters = Counters("downstream");
    private static readonly Counter.Child[] UpstreamCounters = Counters("upstream");

    /// <summary>Counts a failed handshake under its reason.</summary>
    public static void Count(TlsFailure failure, bool upstream) => (upstream ? UpstreamCounters : DownstreamCounters)[(int)failure].Inc();

    private static Counter.Child[] Counters(string direction)
    {
        var children = new Counter.Child[(int)TlsFailure.Other + 1];
        for (int i = 0; i < children.Length; i++) children[i] = TlsMetrics.Failures.WithLabels(direction, Label(i == 0 ? TlsFailure.Other : (TlsFailure)i));
        return children;
    }

    public static string Label(TlsFailure failure) => failure switch
    {
        TlsFailure.NoClientCert => "no_client_cert",
        TlsFailure.UnknownCa => "unknown_ca",
        TlsFailure.Expired => "expired",
        TlsFailure.WrongSan => "wrong_san",
        TlsFailure.ProtocolVersion => "protocol_version",
        TlsFailure.HandshakeTimeout => "handshake_timeout",
        TlsFailure.Plaintext => "plaintext",
        TlsFailure.AlpnMismatch => "alpn_mismatch",
        TlsFailure.None => "none",
        _ => "other",
    };

    /// <summary>
    /// A handshake exception's reason: what the validation callback recorded wins; else a timeout, a version
    /// mismatch (recognised from OpenSSL's alert text, the only place .NET on Linux reports it), or other.
    /// </summary>
    public static TlsFailure Classify(Exception e, TlsStream stream, bool timedOut)
    {
        if (stream.Failure != TlsFailure.None) return stream.Failure;
        if (timedOut) return TlsFailure.HandshakeTimeout;
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            string m = x.Message;
            if (m.Contains("version", StringComparison.OrdinalIgnoreCase) || m.Contains("no protocols available", StringComparison.OrdinalIgnoreCase)
                || m.Contains("unsupported protocol", StringComparison.OrdinalIgnoreCase))
                return TlsFailure.ProtocolVersion;
            if (m.Contains("certificate required", StringComparison.OrdinalIgnoreCase)) return TlsFailure.NoClientCert;
            if (m.Contains("unknown ca", StringComparison.OrdinalIgnoreCase)) return TlsFailure.UnknownCa;
            if (m.Contains("certificate expired", StringComparison.OrdinalIgnoreCase)) return TlsFailure.Expired;
            // RFC 7301 §3.2: the server shares none of the protocols offered (an HTTP/1.1-only origin asked for h2).
            if (m.Contains("no application protocol", StringComparison.OrdinalIgnoreCase)) return TlsFailure.AlpnMismatch;
        }
        return TlsFailure.Other;
    }

    /// <summary>The innermost message, for the log (it comes from the TLS library, not from the peer's bytes).</summary>
    public static string Detail(Exception e)
    {
        Exception x = e;
        while (x.InnerException is not null) x = x.InnerException;
        return x.Message;
    }

    public static SslProtocols Protocols(bool tls13Only) => tls13Only ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
}
