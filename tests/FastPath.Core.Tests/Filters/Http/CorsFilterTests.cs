// CORS: origin matching (exact, prefix, regex as a full match), preflights from allowed origins answered locally
// with the allow-* headers, actual requests from allowed origins answered with Access-Control-Allow-Origin, and
// nothing at all for disallowed origins.
using System.Text;
using FastPath.Config;
using FastPath.Filters.Http;
using FastPath.Http;
using FastPath.Upstream;

namespace FastPath.Core.Tests.Filters.Http;

public class CorsFilterTests
{
    private static readonly CorsConfig Config = new()
    {
        AllowOrigins =
        [
            new StringMatchConfig(StringMatchKind.Exact, "https://app.example.com"),
            new StringMatchConfig(StringMatchKind.Prefix, "https://dev-"),
            new StringMatchConfig(StringMatchKind.Regex, @"https://[a-z]+\.partner\.io"),
        ],
        AllowMethods = ["GET", "POST"],
        AllowHeaders = ["authorization", "content-type"],
        ExposeHeaders = ["x-trace"],
        MaxAge = TimeSpan.FromHours(24),
        AllowCredentials = true,
    };

    [Theory]
    [InlineData("https://app.example.com", true)]
    [InlineData("https://app.example.com.evil.io", false)]
    [InlineData("https://APP.example.com", false)]
    [InlineData("https://dev-42.example.com", true)]
    [InlineData("https://shop.partner.io", true)]
    [InlineData("https://shop.partner.io.evil.io", false)]
    [InlineData("https://x.shop.partner.io", false)]
    [InlineData("http://other.example.com", false)]
    [InlineData("", false)]
    public void IsOriginAllowed_ExactPrefixRegex_MatchesAsIstio(string origin, bool allowed)
    {
        var policy = new CorsPolicy(Config);
        Assert.Equal(allowed, policy.IsOriginAllowed(Encoding.ASCII.GetBytes(origin)));
    }

    private static HttpFilterManager Run(string request, HttpResponseHead? response = null)
    {
        var chain = new HttpFilterChain([new CorsFilterFactory(new CorsPolicy(Config))]);
        HttpFilterManager stream = FilterTestKit.Start(chain, FilterTestKit.Request(request), response);
        stream.DecodeHeaders();
        return stream;
    }

    [Fact]
    public void Preflight_AllowedOrigin_Answered200WithAllowHeaders()
    {
        HttpFilterManager stream = Run("OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n\r\n");

        Assert.True(stream.HasLocalReply);
        Assert.Equal(200, stream.LocalReplyStatus);
        Assert.Equal(ProxyError.LocalReply, stream.LocalReplyError);
        string headers = Encoding.ASCII.GetString(stream.LocalReplyHeaders);
        Assert.Equal(
            "access-control-allow-origin: https://app.example.com\r\n" +
            "access-control-allow-credentials: true\r\n" +
            "access-control-allow-methods: GET,POST\r\n" +
            "access-control-allow-headers: authorization,content-type\r\n" +
            "access-control-max-age: 86400\r\n", headers);
    }

    [Fact]
    public void Preflight_DisallowedOrigin_PassesThroughWithoutCorsHeaders()
    {
        HttpFilterManager stream = Run("OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.io\r\nAccess-Control-Request-Method: POST\r\n\r\n");
        Assert.False(stream.HasLocalReply);
        Assert.True(stream.LocalReplyHeaders.IsEmpty);
    }

    [Fact]
    public void Options_WithoutRequestMethod_IsNotAPreflight()
    {
        HttpFilterManager stream = Run("OPTIONS /api HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example.com\r\n\r\n");
        Assert.False(stream.HasLocalReply);
    }

    [Fact]
    public void ActualRequest_AllowedOrigin_ResponseGetsAllowOriginCredentialsExpose()
    {
        HttpResponseHead response = FilterTestKit.Response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nAccess-Control-Allow-Origin: *\r\n\r\n");
        HttpFilterManager stream = Run("GET /api HTTP/1.1\r\nHost: a\r\nOrigin: https://dev-7.example.com\r\n\r\n", response);
        stream.EncodeHeaders();

        Assert.Equal(["https://dev-7.example.com"], FilterTestKit.Values(response.Headers, "access-control-allow-origin"));
        Assert.Equal("true", FilterTestKit.Value(response.Headers, "access-control-allow-credentials"));
        Assert.Equal("x-trace", FilterTestKit.Value(response.Headers, "access-control-expose-headers"));
    }

    [Fact]
    public void ActualRequest_DisallowedOrigin_ResponseUntouched()
    {
        HttpResponseHead response = FilterTestKit.Response(FilterTestKit.Ok);
        HttpFilterManager stream = Run("GET /api HTTP/1.1\r\nHost: a\r\nOrigin: https://evil.io\r\n\r\n", response);
        stream.EncodeHeaders();

        Assert.Null(FilterTestKit.Value(response.Headers, "access-control-allow-origin"));
        Assert.Null(FilterTestKit.Value(response.Headers, "access-control-allow-credentials"));
    }
}
