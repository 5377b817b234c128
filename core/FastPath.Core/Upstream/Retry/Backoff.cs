// Back-off between tries: exponential with full jitter (Envoy's JitteredExponentialBackOffStrategy; "Exponential
// Backoff And Jitter", AWS 2015). Full jitter spreads the retries of many clients that failed together, so a
// recovering upstream is not hit by synchronised waves.
using FastPath.LoadBalancing;

namespace FastPath.Upstream.Retry;

internal static class Backoff
{
    /// <summary>
    /// The window before retry number <paramref name="retry"/> (0 for the first retry): base x 2^retry, capped at
    /// max. Envoy's router uses the same doubling from base_interval.
    /// </summary>
    public static long WindowMs(int retry, long baseMs, long maxMs)
    {
        if (baseMs <= 0) return 0;
        long window = baseMs;
        for (int i = 0; i < retry && window < maxMs && window <= long.MaxValue / 2; i++) window <<= 1;
        return Math.Min(window, maxMs);
    }

    /// <summary>A delay drawn uniformly from [0, window): full jitter.</summary>
    public static long DelayMs(int retry, long baseMs, long maxMs, IRandomSource random)
    {
        long window = WindowMs(retry, baseMs, maxMs);
        return window <= 0 ? 0 : (long)XorShift.Below(random.NextUInt64(), (ulong)window);
    }
}
