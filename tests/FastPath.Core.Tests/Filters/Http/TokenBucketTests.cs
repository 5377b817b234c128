// The local rate limit's token bucket: exact counts from an injected clock, lazy refill at fill boundaries, the cap,
// the reset time, and no token handed out twice under contention.
using FastPath.Filters.Http;

namespace FastPath.Core.Tests.Filters.Http;

public class TokenBucketTests
{
    [Fact]
    public void TryConsume_BurstBeyondMax_ExactlyMaxPass()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(10, 10, TimeSpan.FromSeconds(1), clock);

        int passed = 0;
        for (int i = 0; i < 30; i++) if (bucket.TryConsume(out _, out _)) passed++;

        Assert.Equal(10, passed);
    }

    [Fact]
    public void TryConsume_RemainingCountsDown_ThenZeroWhenRefused()
    {
        var bucket = new TokenBucket(3, 3, TimeSpan.FromSeconds(1), new ManualClock());

        Assert.True(bucket.TryConsume(out int r1, out _));
        Assert.True(bucket.TryConsume(out int r2, out _));
        Assert.True(bucket.TryConsume(out int r3, out _));
        Assert.False(bucket.TryConsume(out int r4, out _));
        Assert.Equal([2, 1, 0, 0], new[] { r1, r2, r3, r4 });
    }

    [Fact]
    public void TryConsume_JustBeforeAndAtFillBoundary_RefillsOnlyAtBoundary()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(5, 2, TimeSpan.FromSeconds(1), clock);
        for (int i = 0; i < 5; i++) Assert.True(bucket.TryConsume(out _, out _));

        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(bucket.TryConsume(out _, out long reset));
        Assert.Equal(1, reset);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryConsume(out _, out _));
        Assert.True(bucket.TryConsume(out _, out _));
        Assert.False(bucket.TryConsume(out _, out _));
    }

    [Fact]
    public void TryConsume_LongIdle_RefillCappedAtMaxTokens()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(4, 3, TimeSpan.FromMilliseconds(100), clock);
        for (int i = 0; i < 4; i++) bucket.TryConsume(out _, out _);

        clock.Advance(TimeSpan.FromHours(5));
        int passed = 0;
        for (int i = 0; i < 20; i++) if (bucket.TryConsume(out _, out _)) passed++;

        Assert.Equal(4, passed);
    }

    [Fact]
    public void TryConsume_SteadyLoadOverTenSeconds_PassesMaxPlusOneFillPerInterval()
    {
        // 100 requests a second against 10 tokens per second with a burst of 10: 10 + 10 x 10 pass, to the token.
        var clock = new ManualClock();
        var bucket = new TokenBucket(10, 10, TimeSpan.FromSeconds(1), clock);
        int passed = 0;
        for (int ms = 0; ms < 10_000; ms += 10)
        {
            if (bucket.TryConsume(out _, out _)) passed++;
            clock.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.Equal(10 + 9 * 10, passed);
    }

    [Fact]
    public void TryConsume_ResetSeconds_IsTimeToNextFillRoundedUp()
    {
        var clock = new ManualClock();
        var bucket = new TokenBucket(1, 1, TimeSpan.FromSeconds(60), clock);
        clock.Advance(TimeSpan.FromSeconds(15.5));

        bucket.TryConsume(out _, out long reset);

        Assert.Equal(45, reset);
    }

    [Fact]
    public void TryConsume_ManyThreadsAtOnce_NeverHandsOutMoreThanMax()
    {
        var bucket = new TokenBucket(1000, 1, TimeSpan.FromHours(1), new ManualClock());
        int passed = 0;

        Parallel.For(0, 8, worker =>
        {
            for (int i = 0; i < 500; i++) if (bucket.TryConsume(out _, out _)) Interlocked.Increment(ref passed);
        });

        Assert.Equal(1000, passed);
    }
}
