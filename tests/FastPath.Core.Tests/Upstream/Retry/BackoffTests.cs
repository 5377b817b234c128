// Back-off between tries: the window doubles from base_interval up to max_interval, and each delay is drawn with
// full jitter from [0, window) (Envoy's JitteredExponentialBackOffStrategy). Randomness comes from a seed.
using FastPath.LoadBalancing;
using FastPath.Upstream.Retry;

namespace FastPath.Core.Tests.Upstream.Retry;

public sealed class BackoffTests
{
    [Theory]
    [InlineData(0, 25)]
    [InlineData(1, 50)]
    [InlineData(2, 100)]
    [InlineData(3, 200)]
    [InlineData(4, 250)]
    [InlineData(30, 250)]
    public void WindowMs_Retry_DoublesUpToMax(int retry, long expected)
    {
        Assert.Equal(expected, Backoff.WindowMs(retry, baseMs: 25, maxMs: 250));
    }

    [Fact]
    public void WindowMs_HugeRetryNumber_DoesNotOverflow()
    {
        Assert.Equal(long.MaxValue / 2, Backoff.WindowMs(int.MaxValue, baseMs: 1, maxMs: long.MaxValue / 2));
    }

    [Fact]
    public void DelayMs_SeededRandom_AlwaysInsideWindow_AndSpreadAcrossIt()
    {
        var random = new SeededRandom(42);
        for (int retry = 0; retry < 6; retry++)
        {
            long window = Backoff.WindowMs(retry, 25, 250);
            long min = long.MaxValue, max = long.MinValue;
            for (int i = 0; i < 2000; i++)
            {
                long d = Backoff.DelayMs(retry, 25, 250, random);
                Assert.InRange(d, 0, window - 1);
                min = Math.Min(min, d);
                max = Math.Max(max, d);
            }
            // Full jitter: draws cover the window from near zero to near its top.
            Assert.True(min <= window / 10, $"retry {retry}: smallest delay {min} of window {window}");
            Assert.True(max >= window * 9 / 10, $"retry {retry}: largest delay {max} of window {window}");
        }
    }

    [Fact]
    public void DelayMs_MeanGrowsWithRetries()
    {
        var random = new SeededRandom(7);
        double Mean(int retry) => Enumerable.Range(0, 4000).Average(_ => (double)Backoff.DelayMs(retry, 25, 1000, random));
        double m0 = Mean(0), m1 = Mean(1), m2 = Mean(2);
        Assert.InRange(m0, 10, 15);   // uniform over [0, 25)
        Assert.InRange(m1, 22, 28);   // [0, 50)
        Assert.InRange(m2, 45, 55);   // [0, 100)
    }

    [Fact]
    public void DelayMs_SameSeed_SameSequence()
    {
        var a = new SeededRandom(99);
        var b = new SeededRandom(99);
        for (int i = 0; i < 50; i++) Assert.Equal(Backoff.DelayMs(i % 5, 25, 250, a), Backoff.DelayMs(i % 5, 25, 250, b));
    }
}
