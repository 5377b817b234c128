// The HTTP filter chain's fixed cost per request: a typical browser request's head and a response head through five
// no-op filters (rent from the factories' pools, request hooks forward, response hooks backward, return), and
// through the built-ins a route would typically carry (CORS, rate limit, header mutation on both heads). Category
// ZeroAlloc: the CI gate fails if either allocates.
using System.Buffers;
using BenchmarkDotNet.Attributes;
using FastPath.Benchmarks.Http1;
using FastPath.Config;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Http1;
using FastPath.LoadBalancing;

namespace FastPath.Benchmarks.Filters;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class HttpFilterChainBenchmarks
{
    private static readonly byte[] ClientAddress = "192.0.2.10"u8.ToArray();

    private readonly HttpRequestHead _request = new();
    private readonly HttpResponseHead _response = new();
    private readonly HttpFilterManager _stream = new();
    private HttpFilterChain _noOps = null!;
    private HttpFilterChain _builtIns = null!;
    private ReadOnlySequence<byte> _requestBytes;
    private ReadOnlySequence<byte> _responseBytes;

    [GlobalSetup]
    public void Setup()
    {
        _noOps = new HttpFilterChain([new NoOpFactory(), new NoOpFactory(), new NoOpFactory(), new NoOpFactory(), new NoOpFactory()]);
        var scope = new HttpFilterScope(new HttpFiltersConfig
        {
            Cors = new CorsConfig { AllowOrigins = [new StringMatchConfig(StringMatchKind.Exact, "https://shop.example.com")], AllowCredentials = true },
            // Large enough never to run dry however long the benchmark runs.
            RateLimit = new RateLimitConfig { MaxTokens = RateLimitConfig.MaxTokensLimit, TokensPerFill = RateLimitConfig.MaxTokensLimit, FillInterval = TimeSpan.FromMilliseconds(50) },
        }, new Dictionary<string, FastPath.Upstream.Clusters.Cluster>(), new HttpFilterEnvironment(TimeProvider.System, new SeededRandom(1)));
        _builtIns = scope.ChainFor(new HttpFiltersConfig
        {
            RequestHeaders = new HeaderOperationsConfig { Set = [new("x-env", "canary")], Add = [new("x-tag", "a")], Remove = ["cookie"] },
            ResponseHeaders = new HeaderOperationsConfig { Set = [new("x-served-by", "fastpath")], Remove = ["server"] },
        })!;
        _requestBytes = new ReadOnlySequence<byte>(Http1HeadBenchmarks.BrowserRequest);
        _responseBytes = new ReadOnlySequence<byte>(Http1HeadBenchmarks.TypicalResponse);
        ParseHeads();
        FiveNoOpFilters();
        BuiltInFilters();
    }

    [Benchmark]
    public int FiveNoOpFilters()
    {
        _stream.Begin(_noOps, _request, _response, ClientAddress);
        FilterHeadersStatus request = _stream.DecodeHeaders();
        FilterHeadersStatus response = _stream.EncodeHeaders();
        _stream.End();
        return (int)request + (int)response;
    }

    /// <summary>Includes parsing both heads again (the mutations change them): subtract Http1HeadBenchmarks' parse times.</summary>
    [Benchmark]
    public int BuiltInFilters()
    {
        ParseHeads();
        _stream.Begin(_builtIns, _request, _response, ClientAddress);
        FilterHeadersStatus request = _stream.DecodeHeaders();
        FilterHeadersStatus response = _stream.EncodeHeaders();
        _stream.End();
        return (int)request + (int)response + _response.Headers.Count;
    }

    private void ParseHeads()
    {
        _request.Reset();
        var requestHandler = new Http1RequestHandler(_request);
        var state = new Http1HeadParseState();
        var reader = new SequenceReader<byte>(_requestBytes);
        Http1Parser.ParseHead(ref reader, ref requestHandler, ref state, Http1Limits.Default, out _);
        requestHandler.Complete();
        _response.Reset();
        var responseHandler = new Http1ResponseHandler(_response);
        state = new Http1HeadParseState();
        reader = new SequenceReader<byte>(_responseBytes);
        Http1Parser.ParseHead(ref reader, ref responseHandler, ref state, Http1Limits.Default, out _);
        responseHandler.Complete(FastPath.Http.HttpMethod.Get);
    }

    private sealed class NoOpFactory : PooledHttpFilterFactory<NoOpFilter>
    {
        protected override NoOpFilter Create() => new(this);
    }

    private sealed class NoOpFilter(NoOpFactory factory) : HttpFilter
    {
        public override void Release() => factory.Return(this);
    }
}
