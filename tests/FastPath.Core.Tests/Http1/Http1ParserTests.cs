// Http1Parser's helpers outside the head loop (the loop itself runs through the request and response case tables).
using System.Text;
using FastPath.Http1;

namespace FastPath.Core.Tests.Http1;

public class Http1ParserTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("5", 5)]
    [InlineData("007", 7)]
    [InlineData("999999999999999999", 999_999_999_999_999_999)]
    [InlineData("5, 5", 5)]
    [InlineData("5,5,5", 5)]
    [InlineData(" 5 ,\t5", 5)]
    public void TryParseContentLength_Valid_Value(string value, long expected)
    {
        Assert.True(Http1Parser.TryParseContentLength(Encoding.ASCII.GetBytes(value), out long length));
        Assert.Equal(expected, length);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.0")]
    [InlineData("0x10")]
    [InlineData("1 2")]
    [InlineData("5, 6")]
    [InlineData("5,")]
    [InlineData(",5")]
    [InlineData("1000000000000000000")]
    [InlineData("99999999999999999999")]
    public void TryParseContentLength_Invalid_False(string value)
    {
        Assert.False(Http1Parser.TryParseContentLength(Encoding.ASCII.GetBytes(value), out _));
    }
}
