// TLS handshakes in both directions: how many completed, and how many failed by reason (the TlsFailure labels).
// Children are resolved once, so counting a handshake is one add.
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class TlsMetrics
{
    public static readonly Counter Handshakes = Metrics.CreateCounter("fastpath_tls_handshakes_total",
        "TLS handshakes completed, by direction (downstream: clients of a listener; upstream: origination to a cluster).",
        new CounterConfiguration { LabelNames = ["direction"] });

    public static readonly Counter Failures = Metrics.CreateCounter("fastpath_tls_handshake_failures_total",
        "TLS handshakes that failed, by direction and reason (no_client_cert, unknown_ca, expired, wrong_san, protocol_version, "
        + "handshake_timeout, plaintext, other).",
        new CounterConfiguration { LabelNames = ["direction", "reason"] });

    public static readonly Counter.Child DownstreamHandshakes = Handshakes.WithLabels("downstream");
    public static readonly Counter.Child UpstreamHandshakes = Handshakes.WithLabels("upstream");
}
