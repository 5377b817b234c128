// Stream resets each way, counted by the codec itself (one interlocked add per RST_STREAM) so it needs no metrics
// library; Observability publishes the table at scrape time (Envoy's http2.tx_reset / rx_reset, by error code).
namespace FastPath.Http2;

internal static class Http2StreamResets
{
    /// <summary>RFC 9113's 14 codes, then one slot for any other (extension) code.</summary>
    public const int CodeSlots = (int)Http2ErrorCode.HTTP_1_1_REQUIRED + 2;

    /// <summary>Every (side, direction, code slot) counted: slot = ((upstream ? 2 : 0) + (sent ? 1 : 0)) * CodeSlots + code.</summary>
    public const int Slots = 4 * CodeSlots;

    private static readonly long[] s_counts = new long[Slots];

    public static void Count(bool upstream, bool sent, Http2ErrorCode code)
    {
        int c = (uint)code <= (uint)Http2ErrorCode.HTTP_1_1_REQUIRED ? (int)code : CodeSlots - 1;
        Interlocked.Increment(ref s_counts[((upstream ? 2 : 0) + (sent ? 1 : 0)) * CodeSlots + c]);
    }

    /// <summary>The count so far in one slot.</summary>
    public static long Read(int slot) => Interlocked.Read(ref s_counts[slot]);

    /// <summary>What a slot counts: the side, the direction, and the code's name ("unknown" for the extension slot).</summary>
    public static (bool Upstream, bool Sent, string Code) Describe(int slot)
    {
        int code = slot % CodeSlots;
        int kind = slot / CodeSlots;
        return (kind >= 2, (kind & 1) != 0, code == CodeSlots - 1 ? "unknown" : ((Http2ErrorCode)code).ToString());
    }
}
