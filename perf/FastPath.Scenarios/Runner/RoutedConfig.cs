// The routed scenario's gateway config: what a mesh gateway really carries, so its cost can be compared with
// the plain one-route proxy in the same run. 20 virtual hosts x 10 routes (prefix, exact path, header and
// method matches), a 90/10 weighted split between two clusters (both the origin), one request header set and
// one local rate limit whose bucket is never emptied. wrk sends Host: svc-19.mesh.local, so every request finds
// the last virtual host and falls through to its last route.

using System.Globalization;
using System.Text;

namespace FastPath.Scenarios.Runner;

internal static class RoutedConfig
{
    public const int VirtualHosts = 20;
    public const int RoutesPerVirtualHost = 10;
    public const string Host = "svc-19.mesh.local";

    public static string Yaml(int port, int adminPort, int originPort)
    {
        var s = new StringBuilder();
        s.Append(CultureInfo.InvariantCulture, $"""
            admin:
              address: 127.0.0.1
              port: {adminPort}
            limits:
              idle_timeout: 300s
            listeners:
              - name: routed
                address: 127.0.0.1
                port: {port}
                virtual_hosts:

            """);
        for (var v = 0; v < VirtualHosts; v++)
        {
            s.Append(CultureInfo.InvariantCulture, $"""
                      - name: svc-{v}
                        domains: ["svc-{v}.mesh.local", "svc-{v}.mesh.local:{port}"]

                """);
            if (v == VirtualHosts - 1)
            {
                // Never reached: 16 million tokens per second. It measures the filter's cost, not its refusals.
                s.Append("""
                            rate_limit: {max_tokens: 16000000, tokens_per_fill: 16000000, fill_interval: 1s}

                    """);
            }

            s.Append("""
                        routes:

                """);
            for (var r = 0; r < RoutesPerVirtualHost - 1; r++)
            {
                var match = (r % 3) switch
                {
                    0 => $"prefix: /api/v{r}/",
                    1 => $"path: /exact/{v}/{r}",
                    _ => $"prefix: /, headers: [{{name: x-variant, exact: \"b{r}\"}}]",
                };
                s.Append(CultureInfo.InvariantCulture, $$"""
                              - match: {{{match}}}
                                cluster: {{(r % 2 == 0 ? "v1" : "v2")}}

                    """);
            }

            s.Append("""
                          - match: {prefix: /}
                            weighted_clusters: [{cluster: v1, weight: 90}, {cluster: v2, weight: 10}]
                            request_headers: {set: {x-mesh-route: canary}}

                """);
        }

        s.Append(CultureInfo.InvariantCulture, $"""
            clusters:
              - name: v1
                endpoints: ["127.0.0.1:{originPort}"]
              - name: v2
                endpoints: ["127.0.0.1:{originPort}"]

            """);
        return s.ToString();
    }
}
