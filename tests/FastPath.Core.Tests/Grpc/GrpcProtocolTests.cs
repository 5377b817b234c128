// gRPC over HTTP/2 as the proxy reads it: content-type detection, grpc-timeout parsing (grpc PROTOCOL-HTTP2.md),
// grpc-status parsing, the status a gRPC client gets for each proxy error, and grpc-message percent-encoding.
using System.Text;
using FastPath.Grpc;
using FastPath.Upstream;

namespace FastPath.Core.Tests.Grpc;

public sealed class GrpcProtocolTests
{
    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc+json", true)]
    [InlineData("application/grpc;charset=utf-8", true)]
    [InlineData("Application/GRPC", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/grpc-web+proto", false)]
    [InlineData("application/grpcx", false)]
    [InlineData("application/json", false)]
    [InlineData("", false)]
    public void IsGrpcContentType_(string contentType, bool expected) =>
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(Encoding.ASCII.GetBytes(contentType)));

    [Theory]
    [InlineData("1H", 3_600_000)]
    [InlineData("2M", 120_000)]
    [InlineData("5S", 5000)]
    [InlineData("250m", 250)]
    [InlineData("1500u", 2)]      // rounded up: a deadline is never cut short
    [InlineData("1000u", 1)]
    [InlineData("1n", 1)]
    [InlineData("99999999S", 99_999_999_000)]
    [InlineData("0m", 0)]         // zero: no deadline (Envoy)
    public void TryParseTimeout_Valid(string value, long expectedMs)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(Encoding.ASCII.GetBytes(value), out long ms));
        Assert.Equal(expectedMs, ms);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]             // no digits
    [InlineData("10")]            // no unit
    [InlineData("10s")]           // seconds are upper-case S
    [InlineData("10x")]
    [InlineData("123456789S")]    // nine digits: over the spec's eight
    [InlineData("-1S")]
    [InlineData(" 1S")]
    [InlineData("1 S")]
    public void TryParseTimeout_Invalid_Ignored(string value)
    {
        Assert.False(GrpcProtocol.TryParseTimeout(Encoding.ASCII.GetBytes(value), out long ms));
        Assert.Equal(0, ms);
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(5000, 0, 5000)]       // no grpc-timeout: the route's
    [InlineData(0, 300, 300)]         // no route timeout: the client's deadline
    [InlineData(5000, 300, 300)]      // the shorter wins
    [InlineData(300, 5000, 300)]
    public void EffectiveTimeoutMs_ShorterOfRouteAndGrpcTimeout(long route, long grpc, long expected) =>
        Assert.Equal(expected, GrpcProtocol.EffectiveTimeoutMs(route, grpc));

    [Theory]
    [InlineData("0", true, 0)]
    [InlineData("14", true, 14)]
    [InlineData("16", true, 16)]
    [InlineData("", false, 0)]
    [InlineData("1a", false, 0)]
    [InlineData("1234", false, 0)]
    public void TryParseStatus_(string value, bool ok, int expected)
    {
        Assert.Equal(ok, GrpcProtocol.TryParseStatus(Encoding.ASCII.GetBytes(value), out int status));
        if (ok) Assert.Equal(expected, status);
    }

    [Theory]
    [InlineData((int)ProxyError.NoRoute, (int)GrpcStatusCode.UNIMPLEMENTED)]
    [InlineData((int)ProxyError.NoHealthyUpstream, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData((int)ProxyError.UpstreamConnectFailure, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData((int)ProxyError.UpstreamOverflow, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData((int)ProxyError.UpstreamReset, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData((int)ProxyError.RateLimited, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData((int)ProxyError.UpstreamTimeout, (int)GrpcStatusCode.DEADLINE_EXCEEDED)]
    [InlineData((int)ProxyError.StreamIdleTimeout, (int)GrpcStatusCode.DEADLINE_EXCEEDED)]
    [InlineData((int)ProxyError.UpstreamProtocolError, (int)GrpcStatusCode.INTERNAL)]
    [InlineData((int)ProxyError.AuthenticationFailed, (int)GrpcStatusCode.UNAUTHENTICATED)]
    [InlineData((int)ProxyError.AccessDenied, (int)GrpcStatusCode.PERMISSION_DENIED)]
    [InlineData((int)ProxyError.FaultAbort, (int)GrpcStatusCode.INTERNAL)] // the fault's HTTP status decides; 400 is the default
    public void FromProxyError_(int error, int expected) => Assert.Equal((GrpcStatusCode)expected, GrpcProtocol.FromProxyError((ProxyError)error));

    [Theory]
    [InlineData(400, (int)GrpcStatusCode.INTERNAL)]
    [InlineData(401, (int)GrpcStatusCode.UNAUTHENTICATED)]
    [InlineData(403, (int)GrpcStatusCode.PERMISSION_DENIED)]
    [InlineData(404, (int)GrpcStatusCode.UNIMPLEMENTED)]
    [InlineData(429, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData(502, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData(503, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData(504, (int)GrpcStatusCode.UNAVAILABLE)]
    [InlineData(500, (int)GrpcStatusCode.UNKNOWN)]
    [InlineData(418, (int)GrpcStatusCode.UNKNOWN)]
    public void FromHttpStatus_GrpcMapping(int status, int expected) => Assert.Equal((GrpcStatusCode)expected, GrpcProtocol.FromHttpStatus(status));

    [Theory]
    [InlineData("no healthy upstream", "no healthy upstream")]
    [InlineData("100% done", "100%25 done")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("café", "caf%C3%A9")]
    public void EncodeMessage_PercentEncodesOutsidePrintableAscii(string message, string expected)
    {
        byte[] input = Encoding.UTF8.GetBytes(message);
        byte[] dest = new byte[input.Length * 3];
        int n = GrpcProtocol.EncodeMessage(input, dest);
        Assert.Equal(expected, Encoding.ASCII.GetString(dest, 0, n));
    }
}
