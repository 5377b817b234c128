// The x-forwarded-for value both next-hop codecs send: earlier fields in order, then this proxy's client.
using System.Text;
using FastPath.Http;

namespace FastPath.Core.Tests.Http;

public sealed class ForwardedForTests
{
    private static string Forwarded(string client, params (string Name, string Value)[] fields)
    {
        var block = new HttpHeaderBlock();
        foreach ((string name, string value) in fields) block.Append(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value));
        byte[] address = Encoding.ASCII.GetBytes(client);
        int length = ForwardedFor.Length(block, address);
        var destination = new byte[length + 8];
        int written = ForwardedFor.Write(block, address, destination);
        Assert.Equal(length, written);
        return Encoding.ASCII.GetString(destination, 0, written);
    }

    [Fact]
    public void NoEarlierField_JustTheClient() => Assert.Equal("10.0.0.1", Forwarded("10.0.0.1", ("accept", "*/*")));

    [Fact]
    public void SeveralFields_OneListInOrder_OthersIgnored() =>
        Assert.Equal("203.0.113.7, 192.0.2.1, 192.0.2.2, 10.0.0.1",
            Forwarded("10.0.0.1", ("x-forwarded-for", "203.0.113.7"), ("accept", "*/*"), ("x-forwarded-for", "192.0.2.1, 192.0.2.2")));

    [Fact]
    public void LongList_KeptWhole()
    {
        string hops = string.Join(", ", Enumerable.Range(1, 100).Select(i => $"198.51.100.{i}"));
        Assert.Equal(hops + ", 10.0.0.1", Forwarded("10.0.0.1", ("x-forwarded-for", hops)));
    }

    [Fact]
    public void IPv6Client_Appended() => Assert.Equal("203.0.113.7, 2001:db8::1", Forwarded("2001:db8::1", ("x-forwarded-for", "203.0.113.7")));
}
