// Randomness for weighted and power-of-two-choice picks, injected so tests and benchmarks run from a seed (STYLE.md).
// xorshift64* (Vigna 2014): one multiply per draw and no shared state, so a pick never contends on a lock.
namespace FastPath.LoadBalancing;

internal interface IRandomSource
{
    ulong NextUInt64();
}

internal static class XorShift
{
    public static ulong Next(ref ulong state)
    {
        ulong x = state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state = x;
        return x * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>A uniform value in [0, bound) by Lemire's multiply-shift: no division and no modulo bias worth counting.</summary>
    public static ulong Below(ulong random, ulong bound) => Math.BigMul(random, bound, out _);
}

/// <summary>A seeded sequence for tests and benchmarks; one instance must be used by one thread at a time.</summary>
internal sealed class SeededRandom(ulong seed) : IRandomSource
{
    // xorshift never leaves the all-zero state, so a zero seed is replaced.
    private ulong _state = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

    public ulong NextUInt64() => XorShift.Next(ref _state);
}

/// <summary>The production source: per-thread state, seeded once per thread from Random.Shared.</summary>
internal sealed class ThreadLocalRandom : IRandomSource
{
    public static readonly ThreadLocalRandom Instance = new();

    [ThreadStatic] private static ulong t_state;

    private ThreadLocalRandom() { }

    public ulong NextUInt64()
    {
        if (t_state == 0) t_state = (ulong)Random.Shared.NextInt64() | 1;
        return XorShift.Next(ref t_state);
    }
}
