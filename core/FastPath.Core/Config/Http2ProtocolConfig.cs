// A listener's HTTP/2 settings and attack limits (the http2 section, Envoy's http2_protocol_options). Defaults are the
// engine's (Http2ConnectionLimits.Default); ProxySnapshot turns this into the limits every new connection uses.
using FastPath.Http2;

namespace FastPath.Config;

public sealed record Http2ProtocolConfig
{
    private static Http2ConnectionLimits Defaults => Http2ConnectionLimits.Default;

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS; a stream past it is refused (REFUSED_STREAM).</summary>
    public int MaxConcurrentStreams { get; init; } = (int)Defaults.MaxConcurrentStreams;
    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: the most request body one stream may buffer in the proxy.</summary>
    public int InitialStreamWindowSize { get; init; } = Defaults.InitialStreamWindowSize;
    /// <summary>The connection receive window: the most request body all streams together may buffer.</summary>
    public int InitialConnectionWindowSize { get; init; } = Defaults.ConnectionWindowSize;
    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE: decoded header list (HPACK bomb) and field block octets (CONTINUATION flood).</summary>
    public int MaxHeaderListSize { get; init; } = Defaults.MaxHeaderListSize;
    /// <summary>SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table a client may make the proxy hold.</summary>
    public int HpackTableSize { get; init; } = Defaults.HeaderTableSize;
    /// <summary>The interval the per-interval limits below count over.</summary>
    public TimeSpan RateInterval { get; init; } = TimeSpan.FromMilliseconds(Defaults.RateIntervalMs);
    /// <summary>Streams reset per interval, by the client (rapid reset) or by the proxy for the client's errors (MadeYouReset).</summary>
    public int MaxResetsPerInterval { get; init; } = Defaults.MaxResetsPerInterval;
    /// <summary>SETTINGS, PING and PRIORITY frames received per interval.</summary>
    public int MaxInboundControlFramesPerInterval { get; init; } = Defaults.MaxControlFramesPerInterval;
    /// <summary>WINDOW_UPDATE frames received per interval.</summary>
    public int MaxInboundWindowUpdateFramesPerInterval { get; init; } = Defaults.MaxWindowUpdatesPerInterval;
    /// <summary>Consecutive frames without payload (DATA without END_STREAM, empty HEADERS/CONTINUATION); Envoy's name.</summary>
    public int MaxConsecutiveInboundFramesWithEmptyPayload { get; init; } = Defaults.MaxConsecutiveEmptyFrames;
    /// <summary>How long a response stream may wait at a zero send window (a client that never opens it) before it is reset.</summary>
    public TimeSpan SendStallTimeout { get; init; } = TimeSpan.FromMilliseconds(Defaults.SendStallTimeoutMs);

    /// <summary>The engine's limits for these settings (the rest stay at their defaults).</summary>
    internal Http2ConnectionLimits ToLimits() => new()
    {
        MaxConcurrentStreams = (uint)MaxConcurrentStreams,
        InitialStreamWindowSize = InitialStreamWindowSize,
        ConnectionWindowSize = InitialConnectionWindowSize,
        MaxHeaderListSize = MaxHeaderListSize,
        HeaderTableSize = HpackTableSize,
        RateIntervalMs = (long)RateInterval.TotalMilliseconds,
        MaxResetsPerInterval = MaxResetsPerInterval,
        MaxControlFramesPerInterval = MaxInboundControlFramesPerInterval,
        MaxWindowUpdatesPerInterval = MaxInboundWindowUpdateFramesPerInterval,
        MaxConsecutiveEmptyFrames = MaxConsecutiveInboundFramesWithEmptyPayload,
        SendStallTimeoutMs = (long)SendStallTimeout.TotalMilliseconds,
    };
}
