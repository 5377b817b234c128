// KnownHeaders: field names the proxy acts on are recognised in any case, and only those.
using System.Text;
using FastPath.Http;

namespace FastPath.Core.Tests.Http;

public class KnownHeadersTests
{
    [Theory]
    [InlineData("Host", "Host")]
    [InlineData("content-length", "ContentLength")]
    [InlineData("CONTENT-LENGTH", "ContentLength")]
    [InlineData("Transfer-Encoding", "TransferEncoding")]
    [InlineData("Connection", "Connection")]
    [InlineData("Keep-Alive", "KeepAlive")]
    [InlineData("Proxy-Connection", "ProxyConnection")]
    [InlineData("TE", "TE")]
    [InlineData("Upgrade", "Upgrade")]
    [InlineData("Expect", "Expect")]
    [InlineData("Trailer", "Trailer")]
    [InlineData("X-Forwarded-For", "XForwardedFor")]
    [InlineData("x-forwarded-proto", "XForwardedProto")]
    [InlineData("X-Request-ID", "XRequestId")]
    [InlineData("Via", "Via")]
    [InlineData("Hostname", "None")]
    [InlineData("Content-Type", "None")]
    [InlineData("Transfer-Encodinh", "None")]
    [InlineData("", "None")]
    public void Lookup_Name_IdentifiedCaseInsensitively(string name, string id)
    {
        Assert.Equal(Enum.Parse<KnownHeader>(id), KnownHeaders.Lookup(Encoding.ASCII.GetBytes(name)));
    }

    [Fact]
    public void IsHopByHop_Ids_OnlyConnectionManagementFields()
    {
        KnownHeader[] hopByHop = [.. Enum.GetValues<KnownHeader>().Where(KnownHeaders.IsHopByHop)];

        Assert.Equal([KnownHeader.TransferEncoding, KnownHeader.Connection, KnownHeader.KeepAlive, KnownHeader.ProxyConnection,
            KnownHeader.TE, KnownHeader.Upgrade], hopByHop.Order());
    }
}
