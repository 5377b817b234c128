// Entry point of the end-to-end perf scenarios: `origin` serves the fixed-size baseline, `run` measures
// origin direct, FastPath, HAProxy and nginx under wrk on loopback and gates FastPath against the origin.
//
// Usage:
//   FastPath.Scenarios origin --port 9000 [--body 64]
//       Kestrel on 127.0.0.1:PORT; GET /16k answers 16 KiB, every other path answers BODY bytes of 'a'.
//   FastPath.Scenarios run --gateway PATH [--duration 10] [--repeats 3] [--connections 50] [--out DIR]
//                          [--peers haproxy,nginx] [--scenarios keepalive-small,keepalive-16k,newconn-small]
//                          [--gate-ratio 0.5] [--routed-gate-ratio 0.9] [--no-routed] [--quick] [--bare-peers] [--baseline PATH]
//       PATH is the gateway executable, or a .dll run with `dotnet`. It is started as
//       `PATH --listen 127.0.0.1:P --upstream 127.0.0.1:O --admin 127.0.0.1:A` and must answer 200 on /ready.
//       A second FastPath, `fastpath-routed`, runs RoutedConfig (20 virtual hosts, 200 routes, a weighted split,
//       a header mutation and a rate limit never reached) and is gated against the plain one in the same run
//       (--routed-gate-ratio; --no-routed leaves it out).
//       Proxies are pinned to core 0, origin and wrk to core 1. --quick (CI) means 3 s, 3 repeats,
//       keepalive-small only and no peers unless named; explicit flags still win. --peers none skips peers.
//       Peers add x-forwarded-for, x-forwarded-proto and x-request-id as FastPath does, so every target does the
//       same work; --bare-peers (run, h2) leaves them at their defaults. --baseline adds another FastPath build
//       (`baseline`, quick mode like the first) to the same repeats; the report compares FastPath with it and the
//       peers repeat by repeat, as h2 does below.
//       Writes DIR/results.json and DIR/results.md (default ./perf-results) and prints the markdown.
//   e.g. dotnet run -c Release --project perf/FastPath.Scenarios -- run --quick \
//            --gateway hosts/FastPath.Gateway/bin/Release/net10.0/fastpath-gateway.dll
//
//   FastPath.Scenarios idle --gateway PATH [--connections 10000] [--gate-bytes 3072]
//       Opens N keep-alive connections that each make one request and then sit idle; prints the gateway's RSS
//       growth per connection and, with --gate-bytes, fails above that.
//
//   FastPath.Scenarios h2 [--gateway PATH] [--baseline PATH] [--peers haproxy,nginx,h2o] [--clients 10] [--streams 10]
//                         [--duration 10] [--repeats 3] [--bare-peers] [--restart] [--no-h2-origin] [--origin nginx|kestrel]
//       The HTTP/2 scenario: h2load over TLS 1.3 (ALPN h2, 64-byte bodies) through each proxy to one HTTP/1.1
//       origin, proxies on core 0, origin and h2load on core 1; writes DIR/h2-results.md. The origin is nginx
//       answering from its config (cheaper than any proxy, so the proxy's core sets the rate) or, with
//       --origin kestrel, the `origin` subcommand (bare Kestrel, which saturates core 1 first on this VM).
//       --gateway adds FastPath (TLS listener, alpn [h2]) and fastpath-h2-origin, the same to an h2c origin (the
//       gRPC path; no peer proxies to HTTP/2 there; --no-h2-origin leaves it out). --baseline adds another FastPath
//       build (a release, main before a change) as `baseline`, doing the same job in the same repeats.
//       --restart starts a fresh process of each target for every repeat (warmed each time), so effects fixed at a
//       process's start are sampled too. The report compares FastPath with every other target repeat by repeat:
//       the median of the per-repeat ratios (req/s, CPU-s/10k, p99), their middle half, and in how many repeats
//       FastPath did better; a difference is called better or worse only when that middle half lies on one side of
//       1 and a sign test over the repeats agrees (p < 0.05), otherwise it is reported as within noise.
//   FastPath.Scenarios h2-config --port P --admin A --origin O --cert PEM --key PEM
//       Prints the gateway config the h2 scenario gives FastPath (for hand runs: scripts/callgrind-h2.sh).
//   FastPath.Scenarios tls --gateway PATH [--duration 5] [--connections 50] [--gate-ratio 0.75] [--peers haproxy|none]
//       TLS keep-alive throughput against plaintext on the same gateway (gated at --gate-ratio), new TLS
//       connections per second beside HAProxy with the same certificate, and the p50/p99 an mTLS hop
//       (FastPath -> ISTIO_MUTUAL -> FastPath STRICT) adds over the origin direct at 1,000 req/s.
//
// Exit codes: 0 GATE OK (or skipped), 1 GATE FAILED, 2 bad usage or a target that could not start or
// answer in time, 130 interrupted (every child process is stopped first).

using System.Runtime.Versioning;
using FastPath.Scenarios.Origin;
using FastPath.Scenarios.Runner;

// /proc, taskset and the peers' Debian paths make the runner Linux-only.
[assembly: SupportedOSPlatform("linux")]

namespace FastPath.Scenarios;

internal static class Program
{
    private static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "origin" => await OriginServer.RunAsync(OriginOptions.Parse(args.AsSpan(1))),
                "run" => await ScenarioRunner.RunAsync(RunOptions.Parse(args.AsSpan(1))),
                "idle" => await IdleConnections.RunAsync(args.AsSpan(1)),
                "h2" => await H2Runner.RunAsync(H2Options.Parse(args.AsSpan(1))),
                "tls" => await TlsScenarios.RunAsync(args.AsSpan(1)),
                "h2-config" => H2Runner.PrintConfig(args.AsSpan(1)),
                _ => throw new UsageException($"unknown subcommand '{args[0]}'"),
            };
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (ScenarioException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
    }

    internal const string Usage = """
        usage:
          FastPath.Scenarios origin --port PORT [--body BYTES]
          FastPath.Scenarios run --gateway PATH [--duration 10] [--repeats 3] [--connections 50] [--out DIR]
                                 [--peers haproxy,nginx|none] [--scenarios keepalive-small,keepalive-16k,newconn-small]
                                 [--gate-ratio 0.5] [--routed-gate-ratio 0.9] [--no-routed] [--quick] [--bare-peers] [--baseline PATH]
          FastPath.Scenarios idle --gateway PATH [--connections 10000] [--gate-bytes 3072]
          FastPath.Scenarios h2 [--gateway PATH] [--baseline PATH] [--peers haproxy,nginx,h2o] [--clients 10] [--streams 10] [--duration 10]
                                [--repeats 3] [--quick] [--bare-peers] [--restart] [--no-h2-origin] [--origin nginx|kestrel]
                        [--gate-ratio F]: fail when FastPath's req/s is under F times HAProxy's
          FastPath.Scenarios h2-config --port P --admin A --origin O --cert PEM --key PEM
          FastPath.Scenarios tls --gateway PATH [--duration 5] [--connections 50] [--gate-ratio 0.75] [--peers haproxy|none]
        """;
}

/// <summary>Bad command line; reported with the usage text.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>A target or tool that could not start, answer or finish in time; reported without a stack trace.</summary>
internal sealed class ScenarioException(string message) : Exception(message);
