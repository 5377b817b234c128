// Stream resets each way, counted by the codec itself (one interlocked add per RST_STREAM) so it needs no metrics
// library; Observability publishes the table at scrape time (Envoy's http2.tx_reset / rx_reset, by error code).
namespace FastPath.Http2;

internal static class Http2StreamResets
{
    /// <summary>RFC 9113's 14 codes, then one slot for any other (extension) code.</summary>
    public const int CodeSlots = (int)Http2ErrorCode.HTTP_1_1_REQUIRED + 2;

    private static readonly long[] s_counts = new long[4 * CodeSlots];

    public static void Count(bool upstream, bool sent, Http2ErrorCode code) =>
        Interlocked.Increment(ref s_counts[Index(upstream, sent, CodeSlot(code))]);

    /// <summary>The count so far for one (side, direction, code slot).</summary>
    public static long Read(bool upstream, bool sent, int codeSlot) => Interlocked.Read(ref s_counts[Index(upstream, sent, codeSlot)]);

    public static int CodeSlot(Http2ErrorCode code) =>
        (uint)code <= (uint)Http2ErrorCode.HTTP_1_1_REQUIRED ? (int)code : CodeSlots - 1;

    private static int Index(bool upstream, bool sent, int codeSlot) => ((upstream ? 2 : 0) + (sent ? 1 : 0)) * CodeSlots + codeSlot;
}
