// DurationParser: the units config files use, and refusal (never an exception) of anything else.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public class DurationParserTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("10s", 10_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("30", 30_000)]
    [InlineData(" 5s ", 5_000)]
    [InlineData("0", 0)]
    [InlineData("0.5ms", 0.5)]
    public void TryParse_Valid_Milliseconds(string text, double milliseconds)
    {
        Assert.True(DurationParser.TryParse(text, out TimeSpan value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ms")]
    [InlineData("s")]
    [InlineData("-1s")]
    [InlineData("abc")]
    [InlineData("5d")]
    [InlineData("1,5s")]
    [InlineData("Infinity")]
    [InlineData("NaN")]
    [InlineData("1e300")]
    [InlineData("99999999999999")]
    public void TryParse_Invalid_FalseWithoutThrowing(string text)
    {
        bool parsed = true;
        Exception? thrown = Record.Exception(() => parsed = DurationParser.TryParse(text, out _));

        Assert.Null(thrown);
        Assert.False(parsed);
    }
}
