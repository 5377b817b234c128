// HttpHeaderBlock: one byte store and one entry array per message, grown from the pool and kept across Clear().
using FastPath.Core.Tests.Testing;
using FastPath.Http;

namespace FastPath.Core.Tests.Http;

public class HttpHeaderBlockTests
{
    [Fact]
    public void Add_BeyondInitialCapacity_AllFieldsIntact()
    {
        var block = new HttpHeaderBlock();
        string big = new('b', 5000);
        for (int i = 0; i < 100; i++) block.Add(Bytes.Of($"X-{i}"), Bytes.Of(i == 50 ? big : i.ToString(System.Globalization.CultureInfo.InvariantCulture)), KnownHeader.None);

        Assert.Equal(100, block.Count);
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal($"X-{i}", Bytes.Text(block.Name(block[i])));
            Assert.Equal(i == 50 ? big : i.ToString(System.Globalization.CultureInfo.InvariantCulture), Bytes.Text(block.Value(block[i])));
        }
    }

    [Fact]
    public void SkipByName_CaseInsensitive_MarksEveryMatch()
    {
        var block = new HttpHeaderBlock();
        block.Add("X-Hop"u8, "1"u8, KnownHeader.None);
        block.Add("X-Hopper"u8, "2"u8, KnownHeader.None);
        block.Add("x-hop"u8, "3"u8, KnownHeader.None);

        block.SkipByName("X-HOP"u8);

        Assert.Equal([true, false, true], [block[0].Skip, block[1].Skip, block[2].Skip]);
    }

    [Fact]
    public void Clear_ThenAdd_StartsEmptyWithoutOldSkipFlags()
    {
        var block = new HttpHeaderBlock();
        block.Add("A"u8, "1"u8, KnownHeader.Host).Skip = true;
        block.Clear();

        block.Add("B"u8, "2"u8, KnownHeader.None);

        Assert.Equal(1, block.Count);
        Assert.False(block[0].Skip);
        Assert.Equal(-1, block.IndexOf(KnownHeader.Host));
        Assert.Equal(2, block.BytesUsed);
        Assert.Throws<ArgumentOutOfRangeException>(() => block[1]);
    }

    [Fact]
    public void Release_ThenReuse_Works()
    {
        var block = new HttpHeaderBlock();
        block.Add("A"u8, "1"u8, KnownHeader.None);
        block.Release();
        Assert.Equal(0, block.Count);

        block.Add("B"u8, "2"u8, KnownHeader.None);

        Assert.Equal("B", Bytes.Text(block.Name(block[0])));
    }
}
