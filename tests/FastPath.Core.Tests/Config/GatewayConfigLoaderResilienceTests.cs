// Resilience settings in the gateway YAML: a route's retries (Istio HTTPRetry names, Envoy retry_on values) and
// per_request_buffer_limit_bytes, a cluster's circuit_breakers and retry_budget; bad values name file, line and path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class GatewayConfigLoaderResilienceTests
{
    private const string File = "gateway.yaml";

    private const string Base = """
        listeners:
          - name: public
            port: 8080
            virtual_hosts:
              - routes:
                  - prefix: /
                    cluster: web
        ROUTE
        clusters:
          - name: web
            endpoints: ["127.0.0.1:9000"]
        CLUSTER
        """;

    /// <summary>One listener routing / to cluster web; ROUTE and CLUSTER take more fields (also used by the http2 tests).</summary>
    internal static string Yaml(string route = "", string cluster = "") =>
        Base.Replace("ROUTE", route, StringComparison.Ordinal).Replace("CLUSTER", cluster, StringComparison.Ordinal);

    internal static int LineOf(string yaml, string text) =>
        yaml[..yaml.IndexOf(text, StringComparison.Ordinal)].Count(c => c == '\n') + 1;

    [Fact]
    public void Parse_FullRetryPolicy_AllFieldsRead()
    {
        string yaml = Yaml(route: """
                        per_request_buffer_limit_bytes: 1024
                        retries:
                          attempts: 3
                          per_try_timeout: 1s
                          retry_on: "5xx,gateway-error,reset,connect-failure,retriable-4xx,refused-stream,retriable-status-codes"
                          retriable_status_codes: [503, 429]
                          backoff: {base_interval: 10ms, max_interval: 200ms}
            """);

        RouteConfig route = GatewayConfigLoader.Parse(yaml, File).Listeners[0].VirtualHosts[0].Routes[0];

        Assert.Equal(1024, route.PerRequestBufferLimitBytes);
        RetryPolicyConfig r = Assert.IsType<RetryPolicyConfig>(route.Retries);
        Assert.Equal(3, r.Attempts);
        Assert.Equal(TimeSpan.FromSeconds(1), r.PerTryTimeout);
        Assert.Equal(RetryOn.FiveXx | RetryOn.GatewayError | RetryOn.Reset | RetryOn.ConnectFailure | RetryOn.Retriable4xx
                     | RetryOn.RefusedStream | RetryOn.RetriableStatusCodes, r.RetryOn);
        Assert.Equal([503, 429], r.RetriableStatusCodes);
        Assert.Equal(TimeSpan.FromMilliseconds(10), r.BackoffBaseInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(200), r.BackoffMaxInterval);
    }

    [Fact]
    public void Parse_RetryOnAsList_SameAsString()
    {
        string yaml = Yaml(route: """
                        retries: {retry_on: [reset, connect-failure]}
            """);
        RetryPolicyConfig r = GatewayConfigLoader.Parse(yaml, File).Listeners[0].VirtualHosts[0].Routes[0].Retries!;
        Assert.Equal(RetryOn.Reset | RetryOn.ConnectFailure, r.RetryOn);
    }

    [Fact]
    public void Parse_NoRetries_NullPolicyAndEnvoyBufferDefault()
    {
        RouteConfig route = GatewayConfigLoader.Parse(Yaml(), File).Listeners[0].VirtualHosts[0].Routes[0];
        Assert.Null(route.Retries);
        Assert.Equal(64 * 1024, route.PerRequestBufferLimitBytes);
        ClusterConfig c = GatewayConfigLoader.Parse(Yaml(), File).Clusters[0];
        Assert.Equal(new CircuitBreakersConfig { MaxConnections = 1024, MaxPendingRequests = 1024, MaxRequests = 1024, MaxRetries = 3 }, c.CircuitBreakers);
        Assert.Null(c.RetryBudget);
    }

    [Fact]
    public void Parse_CircuitBreakersAndBudget_AllFieldsRead()
    {
        string yaml = Yaml(cluster: """
                circuit_breakers: {max_connections: 10, max_pending_requests: 20, max_requests: 30, max_retries: 4}
                retry_budget: {budget_percent: 12.5, min_retry_concurrency: 2}
            """);

        ClusterConfig c = GatewayConfigLoader.Parse(yaml, File).Clusters[0];

        Assert.Equal(new CircuitBreakersConfig { MaxConnections = 10, MaxPendingRequests = 20, MaxRequests = 30, MaxRetries = 4 }, c.CircuitBreakers);
        Assert.Equal(new RetryBudgetConfig { BudgetPercent = 12.5, MinRetryConcurrency = 2 }, c.RetryBudget);
    }

    [Theory]
    [InlineData("retries: {retry_on: \"5xx,unavailble\"}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.retry_on")]
    [InlineData("retries: {retry_on: \"\"}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.retry_on")]
    [InlineData("retries: {attempts: -1}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.attempts")]
    [InlineData("retries: {attempts: 11}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.attempts")]
    [InlineData("retries: {per_try_timeout: soon}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.per_try_timeout")]
    [InlineData("retries: {retriable_status_codes: [700]}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.retriable_status_codes[0]")]
    [InlineData("retries: {retry_on: 5xx, retriable_status_codes: [503]}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.retriable_status_codes")]
    [InlineData("retries: {backoff: {base_interval: 0ms}}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.backoff.base_interval")]
    [InlineData("retries: {backoff: {base_interval: 100ms, max_interval: 50ms}}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.backoff.max_interval")]
    [InlineData("retries: {attemps: 2}", "retries:", "listeners[0].virtual_hosts[0].routes[0].retries.attemps")]
    [InlineData("per_request_buffer_limit_bytes: -5", "per_request", "listeners[0].virtual_hosts[0].routes[0].per_request_buffer_limit_bytes")]
    public void Parse_BadRouteResilienceField_ErrorNamesPathAndLine(string field, string lineText, string path)
    {
        string yaml = Yaml(route: "            " + field);

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal(path, error.Path);
        Assert.Equal(File, error.File);
        Assert.Equal(LineOf(yaml, lineText), error.Line);
    }

    [Theory]
    [InlineData("circuit_breakers: {max_requests: 0}", "clusters[0].circuit_breakers.max_requests")]
    [InlineData("circuit_breakers: {max_connections: many}", "clusters[0].circuit_breakers.max_connections")]
    [InlineData("circuit_breakers: {max_retries: -1}", "clusters[0].circuit_breakers.max_retries")]
    [InlineData("circuit_breakers: {max_pending: 1}", "clusters[0].circuit_breakers.max_pending")]
    [InlineData("retry_budget: {budget_percent: 120}", "clusters[0].retry_budget.budget_percent")]
    [InlineData("retry_budget: {budget_percent: lots}", "clusters[0].retry_budget.budget_percent")]
    [InlineData("retry_budget: {min_retry_concurrency: -2}", "clusters[0].retry_budget.min_retry_concurrency")]
    public void Parse_BadClusterResilienceField_ErrorNamesPathAndLine(string field, string path)
    {
        string yaml = Yaml(cluster: "    " + field);

        ConfigException e = Assert.Throws<ConfigException>(() => GatewayConfigLoader.Parse(yaml, File));

        ConfigError error = Assert.Single(e.Errors);
        Assert.Equal(path, error.Path);
        Assert.Equal(LineOf(yaml, field), error.Line);
    }
}
