// Which outcomes a retry policy retries, per retry_on condition (Envoy's x-envoy-retry-on semantics), and how
// retry_on strings parse.
using FastPath.Config;
using FastPath.Upstream;
using FastPath.Upstream.Retry;

namespace FastPath.Core.Tests.Upstream.Retry;

public sealed class RetryPolicyTests
{
    private static RetryPolicy Policy(string retryOn, params int[] codes)
    {
        RetryOn on = GatewayConfigLoader.ParseRetryOn(retryOn, out List<string> unknown);
        Assert.Empty(unknown);
        return new RetryPolicy(new RetryPolicyConfig { RetryOn = on, RetriableStatusCodes = codes }, 65536);
    }

    [Fact]
    public void ParseRetryOn_EnvoyNames_AllFlags()
    {
        RetryOn on = GatewayConfigLoader.ParseRetryOn(
            "5xx,gateway-error, reset ,connect-failure,retriable-4xx,refused-stream,retriable-status-codes", out List<string> unknown);
        Assert.Empty(unknown);
        Assert.Equal(RetryOn.FiveXx | RetryOn.GatewayError | RetryOn.Reset | RetryOn.ConnectFailure | RetryOn.Retriable4xx
                     | RetryOn.RefusedStream | RetryOn.RetriableStatusCodes, on);
    }

    [Fact]
    public void ParseRetryOn_UnknownNames_ListedInOrder()
    {
        RetryOn on = GatewayConfigLoader.ParseRetryOn("5xx,5XX,unavailble,,reset", out List<string> unknown);
        Assert.Equal(RetryOn.FiveXx | RetryOn.Reset, on);
        Assert.Equal(["5XX", "unavailble"], unknown);
    }

    [Fact]
    public void ParseRetryOn_GrpcNames_MixedWithHttpConditions()
    {
        RetryOn on = GatewayConfigLoader.ParseRetryOn("cancelled,deadline-exceeded,resource-exhausted,unavailable,internal,5xx", out List<string> unknown);
        Assert.Empty(unknown);
        Assert.Equal(RetryOn.GrpcCancelled | RetryOn.GrpcDeadlineExceeded | RetryOn.GrpcResourceExhausted | RetryOn.GrpcUnavailable
                     | RetryOn.GrpcInternal | RetryOn.FiveXx, on);
    }

    [Theory]
    [InlineData("unavailable", 14, true)]
    [InlineData("unavailable", 8, false)]
    [InlineData("cancelled", 1, true)]
    [InlineData("deadline-exceeded", 4, true)]
    [InlineData("resource-exhausted", 8, true)]
    [InlineData("internal", 13, true)]
    [InlineData("5xx,gateway-error,reset", 14, false)] // HTTP conditions never read grpc-status
    [InlineData("cancelled,deadline-exceeded,resource-exhausted,unavailable,internal", 0, false)]
    [InlineData("cancelled,deadline-exceeded,resource-exhausted,unavailable,internal", 2, false)]
    [InlineData("cancelled,deadline-exceeded,resource-exhausted,unavailable,internal", 16, false)]
    public void RetriesGrpcStatus_ByCondition(string retryOn, int grpcStatus, bool expected) =>
        Assert.Equal(expected, Policy(retryOn).RetriesGrpcStatus(grpcStatus));

    [Fact]
    public void GrpcConditions_DoNotRetryHttpStatusesOrErrors()
    {
        RetryPolicy policy = Policy("cancelled,deadline-exceeded,resource-exhausted,unavailable,internal");
        Assert.False(policy.RetriesStatus(503));
        Assert.False(policy.RetriesError(ProxyError.UpstreamReset));
        Assert.False(policy.RetriesError(ProxyError.UpstreamConnectFailure));
    }

    [Theory]
    [InlineData("5xx", 500, true)]
    [InlineData("5xx", 503, true)]
    [InlineData("5xx", 599, true)]
    [InlineData("5xx", 404, false)]
    [InlineData("5xx", 409, false)]
    [InlineData("gateway-error", 502, true)]
    [InlineData("gateway-error", 503, true)]
    [InlineData("gateway-error", 504, true)]
    [InlineData("gateway-error", 500, false)]
    [InlineData("retriable-4xx", 409, true)]
    [InlineData("retriable-4xx", 400, false)]
    [InlineData("reset", 503, false)]
    [InlineData("connect-failure", 503, false)]
    [InlineData("connect-failure", 500, false)]
    public void RetriesStatus_ByCondition(string retryOn, int status, bool expected)
    {
        Assert.Equal(expected, Policy(retryOn).RetriesStatus(status));
    }

    [Fact]
    public void RetriesStatus_RetriableStatusCodes_OnlyListedCodes()
    {
        RetryPolicy p = Policy("retriable-status-codes", 503, 429);
        Assert.True(p.RetriesStatus(503));
        Assert.True(p.RetriesStatus(429));
        Assert.False(p.RetriesStatus(502));
        Assert.False(p.RetriesStatus(200));
    }

    [Fact]
    public void RetriesStatus_CodesListedWithoutCondition_NotRetried()
    {
        Assert.False(Policy("5xx", 429).RetriesStatus(429));
    }

    [Theory]
    [InlineData("connect-failure", (int)ProxyError.UpstreamConnectFailure, true)]
    [InlineData("connect-failure", (int)ProxyError.UpstreamReset, false)]
    [InlineData("connect-failure", (int)ProxyError.UpstreamTimeout, false)]
    [InlineData("reset", (int)ProxyError.UpstreamReset, true)]
    [InlineData("reset", (int)ProxyError.UpstreamProtocolError, true)]
    [InlineData("reset", (int)ProxyError.UpstreamTimeout, true)]
    [InlineData("reset", (int)ProxyError.UpstreamConnectFailure, false)]
    [InlineData("5xx", (int)ProxyError.UpstreamConnectFailure, true)]
    [InlineData("5xx", (int)ProxyError.UpstreamReset, true)]
    [InlineData("5xx", (int)ProxyError.UpstreamTimeout, true)]
    [InlineData("gateway-error", (int)ProxyError.UpstreamReset, true)]
    [InlineData("gateway-error", (int)ProxyError.UpstreamTimeout, true)]
    [InlineData("retriable-4xx", (int)ProxyError.UpstreamReset, false)]
    [InlineData("5xx", (int)ProxyError.UpstreamOverflow, false)]
    [InlineData("5xx", (int)ProxyError.NoHealthyUpstream, false)]
    [InlineData("5xx", (int)ProxyError.DownstreamReset, false)]
    public void RetriesError_ByCondition(string retryOn, int error, bool expected)
    {
        Assert.Equal(expected, Policy(retryOn).RetriesError((ProxyError)error));
    }

    [Fact]
    public void RetriesError_PerTryTimeoutCountsAs504_ForRetriableStatusCodes()
    {
        Assert.True(Policy("retriable-status-codes", 504).RetriesError(ProxyError.UpstreamTimeout));
        Assert.False(Policy("retriable-status-codes", 503).RetriesError(ProxyError.UpstreamTimeout));
    }

    [Fact]
    public void Constructor_NoMaxInterval_TenTimesBase()
    {
        var p = new RetryPolicy(new RetryPolicyConfig { BackoffBaseInterval = TimeSpan.FromMilliseconds(40) }, 0);
        Assert.Equal(40, p.BaseIntervalMs);
        Assert.Equal(400, p.MaxIntervalMs);
    }

    [Fact]
    public void Constructor_Defaults_IstioConditionsAndTwoRetries()
    {
        var p = new RetryPolicy(new RetryPolicyConfig(), 0);
        Assert.Equal(2, p.NumRetries);
        Assert.True(p.RetriesStatus(503));
        Assert.False(p.RetriesStatus(502));
        Assert.True(p.RetriesError(ProxyError.UpstreamConnectFailure));
        Assert.False(p.RetriesError(ProxyError.UpstreamReset));
    }
}
