// Upstream health settings of a cluster: active health checks, outlier detection and slow start (Envoy's names;
// Istio's DestinationRule outlierDetection fields map one to one where they exist).
namespace FastPath.Config;

/// <summary>Active health checking (Envoy's HealthCheck): one probe per endpoint every interval, on its own socket.</summary>
public sealed record HealthCheckConfig
{
    /// <summary>Null (and no <see cref="Grpc"/>): a TCP check (a completed connect is healthy).</summary>
    public HttpHealthCheckConfig? Http { get; init; }
    /// <summary>Envoy's grpc_health_check: grpc.health.v1.Health/Check over HTTP/2.</summary>
    public GrpcHealthCheckConfig? Grpc { get; init; }
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Random extra delay in [0, jitter) added to each interval so checks of many proxies do not align.</summary>
    public TimeSpan IntervalJitter { get; init; } = TimeSpan.Zero;
    public int HealthyThreshold { get; init; } = 2;
    public int UnhealthyThreshold { get; init; } = 3;

    /// <summary>Whether probes speak HTTP/2 for a cluster of this protocol: gRPC always; HTTP as its codec says.</summary>
    public bool UsesHttp2(UpstreamProtocol protocol) => Grpc is not null || Http?.UsesHttp2(protocol) == true;

    /// <summary>Value equality including the status ranges (records compare lists by reference).</summary>
    public bool SameAs(HealthCheckConfig? other) =>
        other is not null && Interval == other.Interval && Timeout == other.Timeout && IntervalJitter == other.IntervalJitter
        && HealthyThreshold == other.HealthyThreshold && UnhealthyThreshold == other.UnhealthyThreshold
        && (Http is null ? other.Http is null : Http.SameAs(other.Http)) && Grpc == other.Grpc;
}

/// <summary>Envoy's grpc_health_check: the service asked about ("" is the server as a whole) and the :authority.</summary>
public sealed record GrpcHealthCheckConfig
{
    public string ServiceName { get; init; } = "";
    /// <summary>Null sends the cluster name, as Envoy does.</summary>
    public string? Authority { get; init; }
}

public sealed record HttpHealthCheckConfig
{
    public string Path { get; init; } = "/healthz";
    /// <summary>The Host header; null sends the cluster name, as Envoy does.</summary>
    public string? Host { get; init; }
    /// <summary>Inclusive ranges; the default is Envoy's: 200 only.</summary>
    public IReadOnlyList<StatusRange> ExpectedStatuses { get; init; } = [new(200, 200)];
    /// <summary>Envoy's codec_client_type; null: HTTP/2 for a <c>protocol: http2</c> cluster, else HTTP/1.1.</summary>
    public HealthCheckCodec? Codec { get; init; }

    /// <summary>Whether probes speak HTTP/2 for a cluster of this protocol.</summary>
    public bool UsesHttp2(UpstreamProtocol protocol) => Codec is { } codec ? codec == HealthCheckCodec.Http2 : protocol == UpstreamProtocol.Http2;

    public bool Expects(int status)
    {
        foreach (StatusRange r in ExpectedStatuses)
            if (status >= r.From && status <= r.To) return true;
        return false;
    }

    public bool SameAs(HttpHealthCheckConfig? other) =>
        other is not null && Path == other.Path && Host == other.Host && Codec == other.Codec
        && ExpectedStatuses.SequenceEqual(other.ExpectedStatuses);
}

public enum HealthCheckCodec
{
    Http1,
    Http2,
}

public readonly record struct StatusRange(int From, int To)
{
    public override string ToString() => From == To ? $"{From}" : $"{From}-{To}";
}

/// <summary>Passive outlier detection (Envoy's OutlierDetection, Istio's outlierDetection).</summary>
public sealed record OutlierDetectionConfig
{
    /// <summary>Consecutive 5xx (and local failures: connect error, reset, timeout) that eject; 0 turns it off.</summary>
    public int Consecutive5xx { get; init; } = 5;
    /// <summary>Consecutive 502/503/504 (and local failures) that eject; 0 (the default) turns it off.</summary>
    public int ConsecutiveGatewayErrors { get; init; }
    /// <summary>How often ejections are reviewed: ejected endpoints whose time ran out return.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>An ejection lasts this times the endpoint's ejection multiplier (1 for a first ejection).</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxEjectionPercent { get; init; } = 10;
    /// <summary>No ejection while fewer than this percent of the cluster's endpoints are available.</summary>
    public int MinHealthPercent { get; init; }
}

/// <summary>Slow start (Envoy's slow_start_config): a new or recovered endpoint's weight ramps up over a window.</summary>
public sealed record SlowStartConfig
{
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>1 ramps linearly; above 1 the weight rises faster early on, below 1 more slowly.</summary>
    public double Aggression { get; init; } = 1.0;
    /// <summary>The weight never starts below this percent of the configured weight.</summary>
    public int MinWeightPercent { get; init; } = 10;
}
