// Configs built in code (the control plane compiles them) get the same resilience checks as YAML: every bad field
// is reported with its path.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class ResilienceValidatorTests
{
    private static GatewayConfig Config(RouteConfig route, ClusterConfig cluster) => new()
    {
        Listeners =
        [
            new ListenerConfig
            {
                Name = "l", Address = "127.0.0.1", Port = 8080,
                VirtualHosts = [new VirtualHostConfig { Routes = [route with { Cluster = "c" }] }],
            },
        ],
        Clusters = [cluster with { Name = "c", Endpoints = [new EndpointConfig { Host = "127.0.0.1", Port = 9000 }] }],
    };

    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        Assert.Empty(GatewayConfigValidator.Validate(Config(new RouteConfig { Retries = new RetryPolicyConfig() }, new ClusterConfig()), "f"));
    }

    [Fact]
    public void Validate_EveryBadResilienceField_Reported()
    {
        var route = new RouteConfig
        {
            PerRequestBufferLimitBytes = -1,
            Retries = new RetryPolicyConfig
            {
                Attempts = 11,
                PerTryTimeout = TimeSpan.FromSeconds(-1),
                RetryOn = RetryOn.None,
                RetriableStatusCodes = [503, 99],
                BackoffBaseInterval = TimeSpan.FromMilliseconds(100),
                BackoffMaxInterval = TimeSpan.FromMilliseconds(10),
            },
        };
        var cluster = new ClusterConfig
        {
            CircuitBreakers = new CircuitBreakersConfig { MaxConnections = 0, MaxPendingRequests = -1, MaxRequests = 0, MaxRetries = -1 },
            RetryBudget = new RetryBudgetConfig { BudgetPercent = 101, MinRetryConcurrency = -1 },
        };

        List<ConfigError> errors = GatewayConfigValidator.Validate(Config(route, cluster), "f");

        const string r = "listeners[0].virtual_hosts[0].routes[0]";
        Assert.Equal(new SortedSet<string>
        {
            $"{r}.per_request_buffer_limit_bytes", $"{r}.retries.attempts", $"{r}.retries.per_try_timeout", $"{r}.retries.retry_on",
            $"{r}.retries.retriable_status_codes[1]", $"{r}.retries.backoff.max_interval",
            "clusters[0].circuit_breakers.max_connections", "clusters[0].circuit_breakers.max_pending_requests",
            "clusters[0].circuit_breakers.max_requests", "clusters[0].circuit_breakers.max_retries",
            "clusters[0].retry_budget.budget_percent", "clusters[0].retry_budget.min_retry_concurrency",
        }, new SortedSet<string>(errors.Select(e => e.Path)));
    }
}
