// Fault injection: percentages from a seeded random land within 2 points over 10,000 requests; an abort answers
// locally with the configured status and FI; a delay stops the stream (flag DI) until the timer fires, then resumes.
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.LoadBalancing;
using FastPath.Upstream;

namespace FastPath.Core.Tests.Filters.Http;

public class FaultFilterTests
{
    private static FaultFilterFactory Factory(TimeSpan delay, double delayPct, int status, double abortPct, ManualClock? clock = null, ulong seed = 42) =>
        new(delay, delayPct, status, abortPct, clock ?? new ManualClock(), new SeededRandom(seed));

    [Theory]
    [InlineData(5.0)]
    [InlineData(50.0)]
    [InlineData(0.5)]
    public void Abort_Percentage_WithinTwoPointsOver10000(double percentage)
    {
        var chain = new HttpFilterChain([Factory(TimeSpan.Zero, 0, 503, percentage)]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        int aborted = 0;
        for (int i = 0; i < 10_000; i++)
        {
            stream.Begin(chain, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            if (stream.DecodeHeaders() == FilterHeadersStatus.StopIteration)
            {
                Assert.True(stream.HasLocalReply);
                Assert.Equal(503, stream.LocalReplyStatus);
                Assert.Equal(ProxyError.FaultAbort, stream.LocalReplyError);
                aborted++;
            }
            stream.End();
        }

        Assert.InRange(aborted / 100.0, percentage - 2, percentage + 2);
    }

    [Fact]
    public void Delay_Percentage_WithinTwoPointsOver10000()
    {
        var clock = new ManualClock();
        var chain = new HttpFilterChain([Factory(TimeSpan.FromSeconds(1), 10, 0, 0, clock)]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        int delayed = 0;
        for (int i = 0; i < 10_000; i++)
        {
            stream.Begin(chain, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            if (stream.DecodeHeaders() == FilterHeadersStatus.StopIteration)
            {
                delayed++;
                clock.Advance(TimeSpan.FromSeconds(1));
                Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
            }
            stream.End();
        }

        Assert.InRange(delayed / 100.0, 8, 12);
    }

    [Fact]
    public async Task Delay_StopsUntilTimerFires_ThenResumesWithDiFlag()
    {
        var clock = new ManualClock();
        var chain = new HttpFilterChain([Factory(TimeSpan.FromMilliseconds(250), 100, 0, 0, clock)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());
        Assert.Equal(ResponseFlags.DI, stream.ExtraFlags);
        ValueTask wait = stream.WaitAsync();
        clock.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(wait.IsCompleted);

        clock.Advance(TimeSpan.FromMilliseconds(1));
        await wait;
        Assert.False(stream.HasLocalReply);
        Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
    }

    [Fact]
    public async Task DelayAndAbort_BothHit_AbortsAfterTheDelay()
    {
        var clock = new ManualClock();
        var chain = new HttpFilterChain([Factory(TimeSpan.FromSeconds(2), 100, 418, 100, clock)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());
        Assert.False(stream.HasLocalReply);
        ValueTask wait = stream.WaitAsync();
        clock.Advance(TimeSpan.FromSeconds(2));
        await wait;

        Assert.True(stream.HasLocalReply);
        Assert.Equal(418, stream.LocalReplyStatus);
        Assert.Equal(ResponseFlags.DI, stream.ExtraFlags);
        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());
    }

    [Fact]
    public void Delay_PooledInstance_ReusesItsTimer()
    {
        var clock = new ManualClock();
        var chain = new HttpFilterChain([Factory(TimeSpan.FromSeconds(1), 100, 0, 0, clock)]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        for (int i = 0; i < 50; i++)
        {
            stream.Begin(chain, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            stream.DecodeHeaders();
            clock.Advance(TimeSpan.FromSeconds(1));
            stream.End();
        }

        Assert.Equal(1, clock.TimersCreated);
    }
}
