// How a virtual host's and its routes' filter settings combine into each route's chain: a route's own setting
// replaces the host's, host-level factories (and so a host's rate-limit bucket) are shared by its routes, header
// operations of both apply, and a route with no filters anywhere gets no chain at all.
using FastPath.Config;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.LoadBalancing;
using FastPath.Upstream.Clusters;

namespace FastPath.Core.Tests.Filters.Http;

public class HttpFilterScopeTests
{
    private static readonly Dictionary<string, Cluster> NoClusters = [];
    private static readonly HttpFilterEnvironment Env = new(new ManualClock(), new SeededRandom(7));
    private static readonly RateLimitConfig TwoPerHour = new() { MaxTokens = 2, TokensPerFill = 2, FillInterval = TimeSpan.FromHours(1) };

    private static int Passed(HttpFilterChain chain, int requests)
    {
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        var stream = new HttpFilterManager();
        int passed = 0;
        for (int i = 0; i < requests; i++)
        {
            stream.Begin(chain, request, new HttpResponseHead(), FilterTestKit.ClientAddress);
            if (stream.DecodeHeaders() == FilterHeadersStatus.Continue) passed++;
            stream.End();
        }
        return passed;
    }

    [Fact]
    public void ChainFor_NothingConfigured_NoChain()
    {
        var scope = new HttpFilterScope(HttpFiltersConfig.None, NoClusters, Env);
        Assert.Null(scope.ChainFor(HttpFiltersConfig.None));
    }

    [Fact]
    public void ChainFor_HostRateLimit_OneBucketSharedByAllRoutes()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig { RateLimit = TwoPerHour }, NoClusters, Env);
        HttpFilterChain a = scope.ChainFor(HttpFiltersConfig.None)!;
        HttpFilterChain b = scope.ChainFor(HttpFiltersConfig.None)!;

        Assert.Equal(2, Passed(a, 1) + Passed(b, 5));
    }

    [Fact]
    public void ChainFor_RouteRateLimit_ReplacesHostsWithItsOwnBucket()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig { RateLimit = TwoPerHour }, NoClusters, Env);
        HttpFilterChain own = scope.ChainFor(new HttpFiltersConfig { RateLimit = TwoPerHour with { MaxTokens = 5 } })!;
        HttpFilterChain inherited = scope.ChainFor(HttpFiltersConfig.None)!;

        Assert.Equal(5, Passed(own, 10));
        Assert.Equal(2, Passed(inherited, 10));
        Assert.Single(own.Factories);
    }

    [Fact]
    public void ChainFor_HeadersOnBoth_HostThenRouteApplied()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig { RequestHeaders = new() { Set = [new("x-level", "host")], Add = [new("x-host", "1")] } }, NoClusters, Env);
        HttpFilterChain chain = scope.ChainFor(new HttpFiltersConfig { RequestHeaders = new() { Set = [new("x-level", "route")] } })!;
        HttpRequestHead request = FilterTestKit.Request(FilterTestKit.Get);
        HttpFilterManager stream = FilterTestKit.Start(chain, request);

        stream.DecodeHeaders();

        Assert.Equal(["route"], FilterTestKit.Values(request.Headers, "x-level"));
        Assert.Equal(["1"], FilterTestKit.Values(request.Headers, "x-host"));
    }

    [Fact]
    public void ChainFor_AllFilters_RunInDocumentedOrder()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig
        {
            Cors = new CorsConfig { AllowOrigins = [new StringMatchConfig(StringMatchKind.Exact, "https://a")] },
            Fault = new FaultConfig { Abort = new FaultAbortConfig { HttpStatus = 503, Percentage = 0 } },
            RateLimit = TwoPerHour,
            ResponseHeaders = new HeaderOperationsConfig { Remove = ["server"] },
        }, NoClusters, Env);

        HttpFilterChain chain = scope.ChainFor(HttpFiltersConfig.None)!;

        Assert.Equal([typeof(CorsFilterFactory), typeof(FaultFilterFactory), typeof(LocalRateLimitFilterFactory), typeof(HeaderMutationFilterFactory)],
            chain.Factories.Select(f => f.GetType()));
    }

    [Fact]
    public void LocalReply_EarlierFiltersResponseHooksRun_LaterOnesDoNot()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig
        {
            Cors = new CorsConfig { AllowOrigins = [new StringMatchConfig(StringMatchKind.Exact, "https://a")] },
            RateLimit = TwoPerHour with { MaxTokens = 1 },
            ResponseHeaders = new HeaderOperationsConfig { Set = [new("x-after", "1")] },
        }, NoClusters, Env);
        HttpFilterChain chain = scope.ChainFor(HttpFiltersConfig.None)!;
        HttpRequestHead request = FilterTestKit.Request("GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://a\r\n\r\n");
        Passed(chain, 1);
        HttpFilterManager stream = FilterTestKit.Start(chain, request);

        stream.DecodeHeaders();
        stream.EncodeLocalReply(stream.LocalReplyStatus);

        string headers = System.Text.Encoding.ASCII.GetString(stream.LocalReplyHeaders);
        Assert.Equal(429, stream.LocalReplyStatus);
        Assert.Contains("x-ratelimit-remaining: 0\r\n", headers);
        Assert.Contains("access-control-allow-origin: https://a\r\n", headers);   // CORS runs before the rate limit
        Assert.DoesNotContain("x-after", headers);                                 // header mutation runs after it
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(headers, "x-ratelimit-limit"));
    }

    [Fact]
    public void ProxyError_LocalReply_EveryFiltersResponseHookRuns()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig { ResponseHeaders = new HeaderOperationsConfig { Set = [new("x-served-by", "fastpath")] } },
            NoClusters, Env);
        HttpFilterManager stream = FilterTestKit.Start(scope.ChainFor(HttpFiltersConfig.None)!, FilterTestKit.Request(FilterTestKit.Get));
        stream.DecodeHeaders();

        stream.EncodeLocalReply(503);

        Assert.Equal("x-served-by: fastpath\r\n", System.Text.Encoding.ASCII.GetString(stream.LocalReplyHeaders));
    }

    [Fact]
    public void RateLimited_LocalReply_Carries429AndRateLimitHeaders()
    {
        var scope = new HttpFilterScope(new HttpFiltersConfig { RateLimit = TwoPerHour }, NoClusters, Env);
        HttpFilterChain chain = scope.ChainFor(HttpFiltersConfig.None)!;
        Passed(chain, 2);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(FilterTestKit.Get));

        Assert.Equal(FilterHeadersStatus.StopIteration, stream.DecodeHeaders());

        Assert.Equal(429, stream.LocalReplyStatus);
        Assert.Equal(FastPath.Upstream.ProxyError.RateLimited, stream.LocalReplyError);
        Assert.Equal("x-ratelimit-limit: 2\r\nx-ratelimit-remaining: 0\r\nx-ratelimit-reset: 3600\r\n",
            System.Text.Encoding.ASCII.GetString(stream.LocalReplyHeaders));
    }
}
