// Limits and timeouts of one HTTP/2 connection, with the attack each defends against. Immutable; one instance is
// shared by every connection of a listener, or of a cluster's endpoint pool (built from its http2 settings).
namespace FastPath.Http2;

internal sealed class Http2ConnectionLimits
{
    public static readonly Http2ConnectionLimits Default = new();

    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS we advertise (§5.1.2). A stream counts until its handler returns, not
    /// only until the protocol closes it, so resetting streams does not free slots for more work (CVE-2023-44487).</summary>
    public uint MaxConcurrentStreams { get; init; } = 100;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE we advertise: the most request body one stream may buffer with us.</summary>
    public int InitialStreamWindowSize { get; init; } = 256 * 1024;

    /// <summary>The connection receive window: the most request body all streams together may buffer with us.</summary>
    public int ConnectionWindowSize { get; init; } = 1024 * 1024;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE: decoded name + value + 32 per field; a request over it is answered 431 on
    /// its stream. Twice it (HPackDecoder.HardLimitFactor) bounds the decoded list (HPACK bomb) and the field block
    /// octets across HEADERS and CONTINUATION (CVE-2024-27316, counted as they arrive): past that, a connection error.</summary>
    public int MaxHeaderListSize { get; init; } = 64 * 1024;

    /// <summary>SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the peer may make us hold.</summary>
    public int HeaderTableSize { get; init; } = 4096;

    /// <summary>How long the peer has to acknowledge our SETTINGS (§6.5.3: SETTINGS_TIMEOUT).</summary>
    public long SettingsAckTimeoutMs { get; init; } = 10_000;

    /// <summary>How long a stream may wait at a zero send window before it is reset (a peer that never opens its window).</summary>
    public long SendStallTimeoutMs { get; init; } = 30_000;

    /// <summary>How long a flush to the transport may stay blocked (a peer that never reads) before the connection is aborted.</summary>
    public long OutputStallTimeoutMs { get; init; } = 30_000;

    /// <summary>Graceful shutdown: how long to wait for the PING round trip, then for the remaining streams.</summary>
    public long ShutdownTimeoutMs { get; init; } = 10_000;

    /// <summary>The interval the rate limits below count over.</summary>
    public long RateIntervalMs { get; init; } = 1_000;

    /// <summary>Streams reset per interval, by the peer (RST_STREAM, CVE-2023-44487 rapid reset) or by us because of
    /// the peer's errors (CVE-2025-8671 MadeYouReset); above it the connection ends with ENHANCE_YOUR_CALM.</summary>
    public int MaxResetsPerInterval { get; init; } = 200;

    /// <summary>SETTINGS, PING and PRIORITY frames per interval (CVE-2019-9512 ping flood, 9515 settings flood, 9513).</summary>
    public int MaxControlFramesPerInterval { get; init; } = 1_000;

    /// <summary>WINDOW_UPDATE frames per interval (CVE-2019-9517-style resource loops).</summary>
    public int MaxWindowUpdatesPerInterval { get; init; } = 10_000;

    /// <summary>Consecutive frames that carry nothing: DATA without END_STREAM, HEADERS or CONTINUATION with an empty
    /// fragment (CVE-2019-9518). Any frame with content resets the count.</summary>
    public int MaxConsecutiveEmptyFrames { get; init; } = 16;

    /// <summary>Octets written but not yet taken by the transport above which writers (streams and the read loop's
    /// control replies) wait: the outbound queue a peer that does not read can make us hold (CVE-2019-9512/9515).</summary>
    public int MaxOutputBufferBytes { get; init; } = 64 * 1024;

    /// <summary>Client role: the most streams we open at once, below the peer's SETTINGS_MAX_CONCURRENT_STREAMS
    /// (Envoy's cluster max_concurrent_streams); the default leaves the peer's limit alone.</summary>
    public uint MaxOpenStreams { get; init; } = uint.MaxValue;

    /// <summary>Client role: how often a keepalive PING is sent (Envoy connection_keepalive.interval); 0 sends none.</summary>
    public long KeepAliveIntervalMs { get; init; }

    /// <summary>How long a keepalive PING may go unanswered, extended by any frame received (a slow peer behind
    /// head-of-line blocking is not dead), before the connection is closed as dead.</summary>
    public long KeepAliveTimeoutMs { get; init; } = 20_000;

    /// <summary>Streams (with their buffers, ~5 KB each) kept for reuse by one connection: as many as the default
    /// stream limit, so a connection that runs that many at once (an upstream connection usually does) allocates none
    /// per stream. Only streams once live at the same time are ever pooled, and <see cref="StreamPoolIdleMs"/> trims them.</summary>
    public int StreamPoolSize { get; init; } = 100;

    /// <summary>A pooled stream unused this long (milliseconds of Tick time) is released to the GC.</summary>
    public int StreamPoolIdleMs { get; init; } = 5_000;
}
