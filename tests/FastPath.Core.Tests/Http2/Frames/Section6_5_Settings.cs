// RFC 9113 §6.5: SETTINGS frames; §6.5.2: the defined parameters, their initial values and valid ranges.
using System.Buffers;
using FastPath.Http2;
using FastPath.Http2.Frames;
using static FastPath.Core.Tests.Http2.Frames.FrameDriver;

namespace FastPath.Core.Tests.Http2.Frames;

public sealed class Section6_5_Settings
{
    [Fact]
    public void SETTINGS_Received_Valid() =>
        AssertReads(F(4, 0, 0, "0003 00000064 0004 0000ffff"),
            "SETTINGS s=0 f=0x00 len=12 payload=00030000006400040000ffff\nend consumed=21");

    [Fact]
    public void SETTINGS_Empty_Valid() => AssertReads(F(4, 0, 0, ""), "SETTINGS s=0 f=0x00 len=0\nend consumed=9");

    [Fact]
    public void SETTINGS_Ack_Valid() => AssertReads(F(4, 1, 0, ""), "SETTINGS s=0 f=0x01 len=0\nend consumed=9");

    [Fact]
    public void SETTINGS_AckWithPayload_ConnectionFrameSizeError() =>
        AssertReads(F(4, 1, 0, "000300000064"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void SETTINGS_LengthNotMultipleOfSix_ConnectionFrameSizeError() =>
        AssertReads(F(4, 0, 0, "0003000000"), "ConnectionError FRAME_SIZE_ERROR");

    [Fact]
    public void SETTINGS_Received_StreamIdNonZero_ConnectionProtocolError() =>
        AssertReads(F(4, 0, 1, ""), "ConnectionError PROTOCOL_ERROR");

    [Fact]
    public void SETTINGS_Written_RoundTrip() =>
        AssertRoundTrip(o => Http2FrameWriter.WriteSettings(o,
            [new(Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS, 100), new(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 65_535)]),
            "SETTINGS s=0 f=0x00 len=12 payload=00030000006400040000ffff\nend consumed=21");

    [Fact]
    public void SETTINGS_AckWritten_RoundTrip() =>
        AssertRoundTrip(Http2FrameWriter.WriteSettingsAck, "SETTINGS s=0 f=0x01 len=0\nend consumed=9");
}

public sealed class Section6_5_2_SettingsParameters
{
    [Theory]
    [InlineData("0002 00000002", "PROTOCOL_ERROR")]             // SETTINGS_ENABLE_PUSH is 0 or 1
    [InlineData("0004 80000000", "FLOW_CONTROL_ERROR")]         // SETTINGS_INITIAL_WINDOW_SIZE > 2^31-1
    [InlineData("0005 00003fff", "PROTOCOL_ERROR")]             // SETTINGS_MAX_FRAME_SIZE < 2^14
    [InlineData("0005 01000000", "PROTOCOL_ERROR")]             // SETTINGS_MAX_FRAME_SIZE > 2^24-1
    [InlineData("0003 00000064 0002 00000005", "PROTOCOL_ERROR")] // an invalid entry after a valid one
    public void SETTINGS_InvalidValue_ConnectionError(string entries, string code) =>
        AssertReads(F(4, 0, 0, entries), "ConnectionError " + code);

    [Theory]
    [InlineData("0002 00000000")]
    [InlineData("0002 00000001")]
    [InlineData("0004 7fffffff")]
    [InlineData("0005 00004000")]
    [InlineData("0005 00ffffff")]
    [InlineData("00ff ffffffff")] // unknown identifier: ignored (§6.5.2)
    [InlineData("0001 00000000")]
    [InlineData("0006 00000000")]
    public void SETTINGS_ValidValue_Accepted(string entries)
    {
        byte[] frame = F(4, 0, 0, entries);
        AssertReads(frame, $"SETTINGS s=0 f=0x00 len=6 payload={Convert.ToHexStringLower(frame.AsSpan(9))}\nend consumed=15");
    }

    [Fact]
    public void Settings_Default_InitialValues()
    {
        Http2Settings s = Http2Settings.Default;
        Assert.Equal(4096u, s.HeaderTableSize);
        Assert.True(s.EnablePush);
        Assert.Equal(uint.MaxValue, s.MaxConcurrentStreams);
        Assert.Equal(65_535u, s.InitialWindowSize);
        Assert.Equal(16_384u, s.MaxFrameSize);
        Assert.Equal(uint.MaxValue, s.MaxHeaderListSize);
    }

    [Fact]
    public void Settings_ApplyPayload_SetsEachInOrderAndIgnoresUnknown()
    {
        Http2Settings s = Http2Settings.Default;
        var payload = new ReadOnlySequence<byte>(H("0001 00001000 0002 00000000 0003 00000064 0004 00010000 0005 00008000 0006 00002000 00ff 00000001 0003 000000c8"));
        Assert.Equal(Http2ErrorCode.NO_ERROR, s.Apply(payload));
        Assert.Equal(4096u, s.HeaderTableSize);
        Assert.False(s.EnablePush);
        Assert.Equal(200u, s.MaxConcurrentStreams); // the last value of a repeated parameter wins (§6.5.3: in order)
        Assert.Equal(65_536u, s.InitialWindowSize);
        Assert.Equal(32_768u, s.MaxFrameSize);
        Assert.Equal(8192u, s.MaxHeaderListSize);
    }

    [Fact]
    public void Settings_ApplyInvalid_ReturnsCodeAndChangesNothing()
    {
        Http2Settings s = Http2Settings.Default;
        Assert.Equal(Http2ErrorCode.FLOW_CONTROL_ERROR, s.Apply(new ReadOnlySequence<byte>(H("0003 00000064 0004 80000000"))));
        Assert.Equal(uint.MaxValue, s.MaxConcurrentStreams);
        Assert.Equal(65_535u, s.InitialWindowSize);
    }
}
