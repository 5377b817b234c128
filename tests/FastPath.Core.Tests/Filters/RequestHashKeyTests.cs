// Hash-policy key extraction: header (case-insensitive name), cookie pairs across Cookie fields, query parameters.
using System.Text;
using FastPath.Filters.Network;
using FastPath.Http;

namespace FastPath.Core.Tests.Filters;

public sealed class RequestHashKeyTests
{
    private static HttpHeaderBlock Headers(params (string Name, string Value)[] fields)
    {
        var block = new HttpHeaderBlock();
        foreach ((string n, string v) in fields) block.Add(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), KnownHeaders.Lookup(Encoding.ASCII.GetBytes(n)));
        return block;
    }

    [Fact]
    public void TryHeader_NameCaseInsensitive_FirstValue()
    {
        HttpHeaderBlock h = Headers(("Accept", "*/*"), ("X-User", "alice"), ("x-user", "bob"));
        Assert.True(RequestHashKey.TryHeader(h, "x-user"u8, out ReadOnlySpan<byte> v));
        Assert.Equal("alice", Encoding.ASCII.GetString(v));
        Assert.False(RequestHashKey.TryHeader(h, "x-missing"u8, out _));
    }

    [Theory]
    [InlineData("a=1; session=abc; b=2", "session", "abc")]
    [InlineData("session=xyz", "session", "xyz")]
    [InlineData("a=1;session=s2", "session", "s2")]
    [InlineData("xsession=no; session=yes", "session", "yes")]
    public void TryCookie_FindsExactName(string cookie, string name, string expected)
    {
        HttpHeaderBlock h = Headers(("Cookie", "other=0"), ("Cookie", cookie));
        Assert.True(RequestHashKey.TryCookie(h, Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> v));
        Assert.Equal(expected, Encoding.ASCII.GetString(v));
    }

    [Fact]
    public void TryCookie_Absent_False()
    {
        Assert.False(RequestHashKey.TryCookie(Headers(("Cookie", "a=1; b=2")), "session"u8, out _));
        Assert.False(RequestHashKey.TryCookie(Headers(("X-Cookie", "session=1")), "session"u8, out _));
    }

    [Theory]
    [InlineData("/p?user=7&x=1", "user", "7")]
    [InlineData("/p?x=1&user=8", "user", "8")]
    [InlineData("/p?username=no&user=yes", "user", "yes")]
    [InlineData("/p?user=", "user", "")]
    public void TryQueryParameter_FindsExactName(string target, string name, string expected)
    {
        Assert.True(RequestHashKey.TryQueryParameter(Encoding.ASCII.GetBytes(target), Encoding.ASCII.GetBytes(name), out ReadOnlySpan<byte> v));
        Assert.Equal(expected, Encoding.ASCII.GetString(v));
    }

    [Theory]
    [InlineData("/p")]
    [InlineData("/p?other=1")]
    [InlineData("/user=1")]
    public void TryQueryParameter_Absent_False(string target) =>
        Assert.False(RequestHashKey.TryQueryParameter(Encoding.ASCII.GetBytes(target), "user"u8, out _));
}
