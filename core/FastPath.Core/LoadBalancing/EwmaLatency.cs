// An endpoint's peak-EWMA latency (Finagle's and Linkerd's PeakEwma): a slower sample replaces the estimate at once,
// faster ones pull it down with time constant Decay, and reads decay it towards zero so an endpoint that was shunned
// after a slow spell gets traffic again and can prove itself.
using System.Diagnostics;

namespace FastPath.LoadBalancing;

internal sealed class EwmaLatency
{
    /// <summary>Linkerd's EWMA_DECAY: long enough to remember a bad spell, short enough to forgive it within a minute.</summary>
    public static readonly TimeSpan DefaultDecay = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Linkerd's DEFAULT_RTT_ESTIMATE: an endpoint with no sample yet is assumed neither fast nor slow, so a new
    /// endpoint is not flooded the moment it joins.
    /// </summary>
    public const double DefaultEstimateMs = 30;

    private const long Never = long.MinValue;

    private readonly double _decayTicks;
    // The estimate (a double, as its bits) and when it was last written, in Stopwatch/TimeProvider timestamp ticks.
    private long _estimateBits = BitConverter.DoubleToInt64Bits(DefaultEstimateMs);
    private long _updatedAt = Never;

    public EwmaLatency() : this(DefaultDecay) { }

    public EwmaLatency(TimeSpan decay) => _decayTicks = Math.Max(1, decay.TotalSeconds * Stopwatch.Frequency);

    /// <summary>Adds one request's latency observed at <paramref name="nowTicks"/>.</summary>
    public void Record(double ms, long nowTicks)
    {
        if (!(ms >= 0)) return;
        while (true)
        {
            long bits = Volatile.Read(ref _estimateBits);
            long at = Volatile.Read(ref _updatedAt);
            double previous = BitConverter.Int64BitsToDouble(bits);
            double next;
            if (at == Never || ms >= previous)
            {
                next = ms;
            }
            else
            {
                double w = Math.Exp(-Math.Max(0, nowTicks - at) / _decayTicks);
                next = previous * w + ms * (1 - w);
            }
            if (Interlocked.CompareExchange(ref _estimateBits, BitConverter.DoubleToInt64Bits(next), bits) == bits)
            {
                // The timestamp is written after the estimate, not with it (.NET has no 128-bit CAS): a reader in
                // between sees the new estimate with the previous time and decays it a little too much, once.
                Volatile.Write(ref _updatedAt, nowTicks);
                return;
            }
        }
    }

    /// <summary>The estimate in milliseconds as of <paramref name="nowTicks"/>, decayed towards zero since the last sample.</summary>
    public double Cost(long nowTicks)
    {
        long at = Volatile.Read(ref _updatedAt);
        double estimate = BitConverter.Int64BitsToDouble(Volatile.Read(ref _estimateBits));
        if (at == Never) return estimate;
        return estimate * Math.Exp(-Math.Max(0, nowTicks - at) / _decayTicks);
    }
}
