// Metrics of HTTP/2 connections: which defence (or protocol error) ended a downstream connection, so an operator sees
// an attack, or a limit set too low, in /stats/prometheus; and stream resets each way on both sides (Envoy's
// http2.rx_reset / tx_reset, by error code). Children are resolved once; counting is one add.
using FastPath.Http2;
using Prometheus;

namespace FastPath.Observability.Stats;

internal static class Http2Metrics
{
    public static readonly Counter ConnectionErrors = Metrics.CreateCounter("fastpath_http2_connection_errors_total",
        "Downstream HTTP/2 connections the proxy ended because of the client, by reason (reset_flood, control_frame_flood, "
        + "window_update_flood, empty_frame_flood, header_block_too_large, header_list_too_large, protocol_error, "
        + "settings_timeout, output_stalled).", new CounterConfiguration { LabelNames = ["reason"] });

    // Indexed by Http2ConnectionEndReason; null for the ends that are no error (closed, drained, transport gone).
    private static readonly Counter.Child?[] s_byReason = Build();

    /// <summary>Counts a connection that ended for this reason, if it is an error the client caused.</summary>
    public static void CountEnd(Http2ConnectionEndReason reason)
    {
        if ((uint)reason < (uint)s_byReason.Length) s_byReason[(int)reason]?.Inc();
    }

    public static readonly Counter StreamResets = Metrics.CreateCounter("fastpath_http2_stream_resets_total",
        "HTTP/2 streams ended by RST_STREAM, by side (downstream: clients; upstream: origins), direction (sent by the "
        + "proxy, or received) and error code.", new CounterConfiguration { LabelNames = ["side", "direction", "code"], SuppressInitialValue = true });

    // One child per codec slot, in the codec's slot order.
    private static readonly Counter.Child[] s_resets = BuildResets();

    /// <summary>Publishes the codec's reset counts (<see cref="Http2StreamResets"/>) before each scrape; a series
    /// appears once its count is above zero.</summary>
    public static void Register() => Metrics.DefaultRegistry.AddBeforeCollectCallback(PublishResets);

    private static void PublishResets()
    {
        for (int slot = 0; slot < Http2StreamResets.Slots; slot++)
        {
            long count = Http2StreamResets.Read(slot);
            if (count > 0) s_resets[slot].IncTo(count);
        }
    }

    private static Counter.Child[] BuildResets()
    {
        var children = new Counter.Child[Http2StreamResets.Slots];
        for (int slot = 0; slot < children.Length; slot++)
        {
            (bool upstream, bool sent, string code) = Http2StreamResets.Describe(slot);
            children[slot] = StreamResets.WithLabels(upstream ? "upstream" : "downstream", sent ? "sent" : "received", code);
        }
        return children;
    }

    private static Counter.Child?[] Build()
    {
        var children = new Counter.Child?[Enum.GetValues<Http2ConnectionEndReason>().Length]; // values are 0..n-1
        void Add(Http2ConnectionEndReason reason, string label) => children[(int)reason] = ConnectionErrors.WithLabels(label);
        Add(Http2ConnectionEndReason.ProtocolError, "protocol_error");
        Add(Http2ConnectionEndReason.ResetFlood, "reset_flood");
        Add(Http2ConnectionEndReason.ControlFrameFlood, "control_frame_flood");
        Add(Http2ConnectionEndReason.WindowUpdateFlood, "window_update_flood");
        Add(Http2ConnectionEndReason.EmptyFrameFlood, "empty_frame_flood");
        Add(Http2ConnectionEndReason.HeaderBlockTooLarge, "header_block_too_large");
        Add(Http2ConnectionEndReason.HeaderListTooLarge, "header_list_too_large");
        Add(Http2ConnectionEndReason.SettingsTimeout, "settings_timeout");
        Add(Http2ConnectionEndReason.OutputStalled, "output_stalled");
        return children;
    }
}
