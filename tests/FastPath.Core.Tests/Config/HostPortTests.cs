// HostPort: the "host:port" and "[v6]:port" forms endpoints and listener addresses are written in.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class HostPortTests
{
    [Theory]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000)]
    [InlineData("localhost:80", "localhost", 80)]
    [InlineData("[::1]:8443", "::1", 8443)]
    [InlineData("[fe80::1%eth0]:1", "fe80::1%eth0", 1)]
    [InlineData(" api.internal:65535 ", "api.internal", 65535)]
    [InlineData("host:0", "host", 0)]
    public void TryParse_HostAndPort_Split(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out string h, out int p));
        Assert.Equal((host, port), (h, p));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("host:")]
    [InlineData(":80")]
    [InlineData("host:65536")]
    [InlineData("host:-1")]
    [InlineData("host:+1")]
    [InlineData("host:8o")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("[::1:80")]
    [InlineData("[]:80")]
    public void TryParse_NoValidPort_False(string text)
    {
        Assert.False(HostPort.TryParse(text, out _, out _));
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("::1", true)]
    [InlineData("api.example.com", true)]
    [InlineData("bad host", false)]
    [InlineData("", false)]
    public void IsIpOrHostName_Hosts_Classified(string host, bool valid)
    {
        Assert.Equal(valid, HostPort.IsIpOrHostName(host));
    }
}
