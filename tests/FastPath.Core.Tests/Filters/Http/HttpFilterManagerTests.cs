// The chain's iteration rules (Envoy filter.h): request hooks in order, response hooks in reverse, StopIteration
// holds the stream until the filter continues it (then the next filter runs), a local reply ends iteration, filters
// go back to their pools, and a warm chain allocates nothing.
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Upstream;

namespace FastPath.Core.Tests.Filters.Http;

public class HttpFilterManagerTests
{
    private sealed class RecordingFactory(string name, List<string> log, FilterHeadersStatus onRequest = FilterHeadersStatus.Continue)
        : PooledHttpFilterFactory<RecordingFactory.Filter>
    {
        private readonly string _name = name;
        private readonly List<string> _log = log;
        private readonly FilterHeadersStatus _onRequest = onRequest;
        public int Created;
        public Filter? Last;

        protected override Filter Create()
        {
            Created++;
            return new Filter(this);
        }

        internal sealed class Filter(RecordingFactory factory) : HttpFilter
        {
            public HttpFilterManager? Stream;

            public override FilterHeadersStatus OnRequestHeaders(HttpFilterManager stream)
            {
                factory._log.Add($"{factory._name}.request");
                Stream = stream;
                factory.Last = this;
                return factory._onRequest;
            }

            public override FilterHeadersStatus OnResponseHeaders(HttpFilterManager stream)
            {
                factory._log.Add($"{factory._name}.response");
                return FilterHeadersStatus.Continue;
            }

            public override void Release() => factory.Return(this);
        }
    }

    private sealed class NoOpFactory : PooledHttpFilterFactory<NoOpFactory.Filter>
    {
        protected override Filter Create() => new(this);

        internal sealed class Filter(NoOpFactory factory) : HttpFilter
        {
            public override void Release() => factory.Return(this);
        }
    }

    [Fact]
    public void Hooks_RequestInOrder_ResponseInReverse()
    {
        var log = new List<string>();
        var chain = new HttpFilterChain([new RecordingFactory("a", log), new RecordingFactory("b", log), new RecordingFactory("c", log)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
        Assert.Equal(FilterHeadersStatus.Continue, stream.EncodeHeaders());

        Assert.Equal(["a.request", "b.request", "c.request", "c.response", "b.response", "a.response"], log);
    }

    [Fact]
    public async Task StopIteration_ThenContinueDecoding_ResumesWithNextFilter()
    {
        var log = new List<string>();
        var stopper = new RecordingFactory("b", log, FilterHeadersStatus.StopIteration);
        var chain = new HttpFilterChain([new RecordingFactory("a", log), stopper, new RecordingFactory("c", log)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());
        ValueTask wait = stream.WaitAsync();
        Assert.False(wait.IsCompleted);
        _ = Task.Run(() => stopper.Last!.Stream!.ContinueDecoding());
        await wait;

        Assert.Equal(FilterHeadersStatus.Continue, stream.DecodeHeaders());
        Assert.Equal(["a.request", "b.request", "c.request"], log);
    }

    [Fact]
    public void SendLocalReply_EndsIteration_LaterFiltersNotRun()
    {
        var log = new List<string>();
        var chain = new HttpFilterChain([new FaultFilterFactory(TimeSpan.Zero, 0, 503, 100, new ManualClock(), new FastPath.LoadBalancing.SeededRandom(1)),
            new RecordingFactory("after", log)]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());
        Assert.True(stream.HasLocalReply);
        Assert.Equal(ProxyError.FaultAbort, stream.LocalReplyError);
        Assert.Equal("fault filter abort\n"u8.ToArray(), stream.LocalReplyBody.ToArray());
        Assert.Empty(log);
    }

    [Fact]
    public void End_ReturnsFiltersToTheirPools_NextStreamReusesThem()
    {
        var log = new List<string>();
        var factory = new RecordingFactory("a", log);
        var chain = new HttpFilterChain([factory]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        for (int i = 0; i < 10; i++)
        {
            stream.Begin(chain, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            stream.DecodeHeaders();
            stream.End();
        }

        Assert.Equal(1, factory.Created);
        Assert.False(stream.IsActive);
    }

    [Fact]
    public void Begin_AlternatingChains_InstancesGoBackToTheirPoolsAndAreReused()
    {
        var log = new List<string>();
        var a = new RecordingFactory("a", log);
        var b = new RecordingFactory("b", log);
        var chainA = new HttpFilterChain([a]);
        var chainB = new HttpFilterChain([b]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        for (int i = 0; i < 10; i++)
        {
            stream.Begin(i % 2 == 0 ? chainA : chainB, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            stream.DecodeHeaders();
            stream.End();
        }

        Assert.Equal((1, 1), (a.Created, b.Created));
        Assert.Equal(10, log.Count);
    }

    [Fact]
    public void Chain_FlagsBodyHooks_OnlyWhenAFactoryAsks()
    {
        Assert.False(new HttpFilterChain([new NoOpFactory()]).WantsRequestBody);
        Assert.False(new HttpFilterChain([new NoOpFactory()]).WantsResponseBody);
    }

    [Fact]
    public void FiveNoOpFilters_RequestAndResponseHeaders_AllocateNothingOnceWarm()
    {
        var chain = new HttpFilterChain([new NoOpFactory(), new NoOpFactory(), new NoOpFactory(), new NoOpFactory(), new NoOpFactory()]);
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var response = new HttpResponseHead();
        var stream = new HttpFilterManager();
        for (int i = 0; i < 100; i++) RunOnce(stream, chain, request, response);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) RunOnce(stream, chain, request, response);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static void RunOnce(HttpFilterManager stream, HttpFilterChain chain, HttpRequestHead request, HttpResponseHead response)
    {
        stream.Begin(chain, request, response, FilterTestKit.ClientAddress);
        if (stream.DecodeHeaders() != FilterHeadersStatus.Continue || stream.EncodeHeaders() != FilterHeadersStatus.Continue)
            throw new InvalidOperationException("no-op filters continue");
        stream.End();
    }
}
