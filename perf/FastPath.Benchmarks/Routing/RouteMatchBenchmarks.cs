// Route matching in one virtual host of 1,000 routes (mostly prefixes, some exact paths, header matches and
// regexes, interleaved), for a request matching the first, a middle and the last route, and one matching none.
// LinearLast walks every route in order, the cost the trie index avoids. Category ZeroAlloc: the CI gate fails if
// a match allocates.
using System.Text;
using BenchmarkDotNet.Attributes;
using FastPath.Config;
using FastPath.Http;
using FastPath.Routing;

namespace FastPath.Benchmarks.Routing;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class RouteMatchBenchmarks
{
    private const int RouteCount = 1000;

    private VirtualHost _host = null!;
    private HttpHeaderBlock _headers = null!;
    private readonly byte[] _get = "GET"u8.ToArray();
    private byte[] _first = null!, _middle = null!, _last = null!, _none = null!, _regex = null!, _header = null!;

    [GlobalSetup]
    public void Setup()
    {
        var routes = new Route[RouteCount];
        for (int i = 0; i < RouteCount; i++)
        {
            RouteMatchConfig match = (i % 100, i % 25, i % 7) switch
            {
                (50, _, _) => new RouteMatchConfig { Prefix = null, Regex = $"/re{i}/[0-9]+/items" },
                (_, 7, _) => new RouteMatchConfig { Prefix = $"/tenant{i}/", Headers = [new HeaderMatchConfig { Name = "x-tenant", Exact = $"t{i}" }] },
                (_, _, 3) => new RouteMatchConfig { Prefix = null, Path = $"/exact/{i}/status" },
                _ => new RouteMatchConfig { Prefix = $"/svc{i}/api/" },
            };
            routes[i] = new Route($"r{i}", RouteCompiler.CompileMatch(match), 0);
        }
        _host = new VirtualHost("bench", routes);
        _headers = new HttpHeaderBlock();
        foreach ((string n, string v) in new[]
                 {
                     ("host", "shop.example.com"), ("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"), ("accept", "*/*"),
                     ("accept-encoding", "gzip, br"), ("cookie", "session=7f3c9a1e5b2d4f6a8c0e"), ("x-tenant", "t532"),
                     ("x-request-id", "6f1c2a8e-1b7d-4e0f-9a3c-5d2e7b8c9f01"),
                 })
            _headers.Add(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), KnownHeader.None);

        _first = Encoding.ASCII.GetBytes("/svc0/api/orders/42?expand=items");
        _middle = Encoding.ASCII.GetBytes("/svc501/api/orders/42?expand=items");
        _last = Encoding.ASCII.GetBytes("/svc999/api/orders/42?expand=items");
        _none = Encoding.ASCII.GetBytes("/nothing/here/at/all?expand=items");
        _regex = Encoding.ASCII.GetBytes("/re950/12345/items");
        _header = Encoding.ASCII.GetBytes("/tenant532/orders");
        if (Match(_first) != "r0" || Match(_middle) != "r501" || Match(_last) != "r999" || Match(_none) is not null
            || Match(_regex) != "r950" || Match(_header) != "r532")
            throw new InvalidOperationException("benchmark routes do not match as intended");
    }

    private string? Match(byte[] target)
    {
        var input = new RouteInput(target, _get, _headers);
        return _host.Match(in input)?.Name;
    }

    private object? Run(byte[] target)
    {
        var input = new RouteInput(target, _get, _headers);
        return _host.Match(in input);
    }

    [Benchmark(Baseline = true)]
    public object? First() => Run(_first);

    [Benchmark]
    public object? Middle() => Run(_middle);

    [Benchmark]
    public object? Last() => Run(_last);

    [Benchmark]
    public object? NoMatch() => Run(_none);

    [Benchmark]
    public object? Regex() => Run(_regex);

    [Benchmark]
    public object? Header() => Run(_header);

    [Benchmark]
    public object? LinearLast()
    {
        var input = new RouteInput(_last, _get, _headers);
        foreach (Route r in _host.Routes)
            if (r.Match.Matches(in input)) return r;
        return null;
    }
}
