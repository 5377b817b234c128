// The mirrored copy's Host: Envoy's "-shadow" suffix goes on the host name, before any port.
using System.Text;
using FastPath.Filters.Http;

namespace FastPath.Core.Tests.Filters.Http;

public class MirrorFilterTests
{
    [Theory]
    [InlineData("api.example.com", "api.example.com-shadow")]
    [InlineData("api.example.com:8080", "api.example.com-shadow:8080")]
    [InlineData("10.0.0.1:80", "10.0.0.1-shadow:80")]
    [InlineData("[::1]:8443", "[::1]-shadow:8443")]
    [InlineData("[::1]", "[::1]-shadow")]
    public void ShadowHost_SuffixBeforePort(string authority, string expected)
    {
        byte[] destination = new byte[authority.Length + 7];
        int n = MirrorFilter.ShadowHost(Encoding.ASCII.GetBytes(authority), destination);
        Assert.Equal(expected, Encoding.ASCII.GetString(destination, 0, n));
    }
}
