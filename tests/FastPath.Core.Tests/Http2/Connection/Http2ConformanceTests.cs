// RFC 9113 conformance of the server engine, organised as h2spec does (section, frame, expectation), driven by raw
// frames over a real socket. Stream errors are checked to leave the connection serving.
using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using FastPath.Http2;
using FastPath.Http2.Frames;
using FastPath.Http2.HPack;
using static FastPath.Core.Tests.Http2.Connection.Http2ConformanceKit;

namespace FastPath.Core.Tests.Http2.Connection;

/// <summary>§3.4 connection preface, §4.2 frame size, §4.3 field block compression.</summary>
public sealed class Http2Section3_4_To_4_3Tests
{
    [Fact]
    public async Task Preface_Server_SendsSettingsFirst_WithLimits()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        await client.SendAsync(Http2ConnectionPreface.ClientPreface.ToArray());
        ReceivedFrame first = await client.ReadFrameAsync();
        Assert.Equal(Http2FrameType.SETTINGS, first.Type);
        Assert.Equal(Setting(Http2SettingsParameter.SETTINGS_ENABLE_PUSH, 0), first.Payload[6..12]);
        Assert.Equal(Setting(Http2SettingsParameter.SETTINGS_MAX_CONCURRENT_STREAMS, 100), first.Payload[12..18]);
    }

    [Fact]
    public async Task Preface_Invalid_ConnectionError()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray());
        await client.ExpectConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR);
    }

    [Fact]
    public async Task Preface_FirstFrameNotSettings_ConnectionError()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        await client.SendAsync(Http2ConnectionPreface.ClientPreface.ToArray());
        await client.SendRawAsync(Http2FrameType.PING, 0, 0, new byte[8]);
        await client.ExpectConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR);
    }

    [Fact]
    public async Task DATA_Received_LargerThanMaxFrameSize_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FRAME_SIZE_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false);
            await client.SendRawAsync(Http2FrameType.DATA, 0, 1, new byte[16_385]);
        });
    }

    [Fact]
    public async Task SETTINGS_Received_LengthNotMultipleOfSix_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FRAME_SIZE_ERROR, async client =>
        {
            await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, new byte[5]);
        });
    }

    [Fact]
    public async Task HEADERS_Received_InvalidHpackIndex_ConnectionError_COMPRESSION_ERROR()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.COMPRESSION_ERROR, async client =>
        {
            // 0x80: indexed field with index 0 (RFC 7541 §6.1).
            await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, 1, [0x82, 0x80]);
        });
    }
}

/// <summary>§5.1 stream states, §5.1.1 identifiers, §5.1.2 concurrency.</summary>
public sealed class Http2Section5_1_StreamStateTests
{
    [Theory]
    [InlineData((int)Http2FrameType.DATA)]
    [InlineData((int)Http2FrameType.RST_STREAM)]
    [InlineData((int)Http2FrameType.WINDOW_UPDATE)]
    public async Task Frame_Received_IdleStream_ConnectionError(int frameType)
    {
        var type = (Http2FrameType)frameType;
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendRawAsync(type, 0, 1, type == Http2FrameType.DATA ? [1, 2] : U32(1));
        });
    }

    [Fact]
    public async Task PRIORITY_Received_IdleStream_Ignored()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendRawAsync(Http2FrameType.PRIORITY, 0, 3, [0, 0, 0, 0, 16]);
        await AssertServesAsync(client, 1);
        await AssertServesAsync(client, 3); // PRIORITY did not open stream 3 (§5.1: idle stays idle)
    }

    [Fact]
    public async Task DATA_Received_HalfClosedRemote_StreamError_STREAM_CLOSED()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.STREAM_CLOSED, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendDataAsync(1, [1, 2, 3], endStream: false);
        });
    }

    [Fact]
    public async Task HEADERS_Received_HalfClosedRemote_StreamError_STREAM_CLOSED()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
        await client.SendHeadersAsync(1, [("x-late", "1")], endStream: true);
        await client.ExpectStreamErrorAsync(1, Http2ErrorCode.STREAM_CLOSED);
        await AssertServesAsync(client, 3); // the HPACK context stayed in step
    }

    [Fact]
    public async Task HEADERS_Received_ClosedStream_ConnectionError_STREAM_CLOSED()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.STREAM_CLOSED, async client =>
        {
            await AssertServesAsync(client, 1);
            await client.SendHeadersAsync(1, Http2RawClient.Get("/"), endStream: true);
        });
    }

    [Fact]
    public async Task DATA_Received_ClosedStream_StreamError_STREAM_CLOSED()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.STREAM_CLOSED, async client =>
        {
            await AssertServesAsync(client, 1);
            await client.SendDataAsync(1, [1], endStream: false);
        });
    }

    [Theory]
    [InlineData((int)Http2FrameType.RST_STREAM)]
    [InlineData((int)Http2FrameType.WINDOW_UPDATE)]
    [InlineData((int)Http2FrameType.PRIORITY)]
    public async Task Frame_Received_ClosedStream_Ignored(int frameType)
    {
        var type = (Http2FrameType)frameType;
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await AssertServesAsync(client, 1);
        await client.SendRawAsync(type, 0, 1, type == Http2FrameType.PRIORITY ? [0, 0, 0, 0, 16] : U32(8));
        await AssertServesAsync(client, 3);
        Assert.DoesNotContain(client.Skipped, f => f.Type is Http2FrameType.RST_STREAM or Http2FrameType.GOAWAY);
    }

    [Fact]
    public async Task HEADERS_Received_EvenStreamId_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(2, Http2RawClient.Get("/"), endStream: true);
        });
    }

    [Fact]
    public async Task HEADERS_Received_StreamIdGoingBackwards_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(5, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendHeadersAsync(3, Http2RawClient.Get("/"), endStream: true);
        });
    }

    [Fact]
    public async Task HEADERS_Received_StreamIdZero_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(0, Http2RawClient.Get("/"), endStream: true);
        });
    }

    [Fact]
    public async Task HEADERS_Received_OverMaxConcurrentStreams_StreamError_REFUSED_STREAM()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(new Http2ConnectionLimits { MaxConcurrentStreams = 2 });
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
        await client.SendHeadersAsync(3, Http2RawClient.Get("/hold"), endStream: true);
        await client.SendHeadersAsync(5, Http2RawClient.Get("/hold"), endStream: true);
        await client.ExpectStreamErrorAsync(5, Http2ErrorCode.REFUSED_STREAM);
        // Resetting a held stream frees its slot once its handler returns.
        await client.SendRawAsync(Http2FrameType.RST_STREAM, 0, 1, U32((uint)Http2ErrorCode.CANCEL));
        for (int i = 0; i < 100 && host.Connections.Single().LiveStreams > 1; i++) await Task.Delay(10);
        await AssertServesAsync(client, 7);
    }

    [Fact]
    public async Task HEADERS_Received_AfterPreviousStreamEndedOnTheWire_Served_ThoughItsHandlerStillRuns()
    {
        // §5.1.2 counts open and half-closed streams: once the client saw stream 1 end it may open another at once,
        // as h2load and browsers do, even if the server's handler for 1 is still finishing.
        await using Http2TestHost host = await Http2TestHost.StartAsync(new Http2ConnectionLimits { MaxConcurrentStreams = 1 });
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/linger"), endStream: true);
        Assert.Equal(200, (await client.ReadResponseAsync(1)).Status);
        Assert.Equal(1, host.Connections.Single().LiveStreams); // the handler lingers
        await AssertServesAsync(client, 3);
    }

    [Fact]
    public async Task HEADERS_Received_WithHandlersInFlightAtTwiceTheLimit_StreamError_REFUSED_STREAM()
    {
        // Handlers still running after their streams ended count against twice the limit: closing streams fast (or
        // resetting them, CVE-2023-44487) cannot start unbounded work.
        await using Http2TestHost host = await Http2TestHost.StartAsync(new Http2ConnectionLimits { MaxConcurrentStreams = 2 });
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        for (uint id = 1; id <= 7; id += 2)
        {
            await client.SendHeadersAsync(id, Http2RawClient.Get("/linger"), endStream: true);
            Assert.Equal(200, (await client.ReadResponseAsync(id)).Status);
        }
        Assert.Equal(4, host.Connections.Single().LiveStreams);
        await client.SendHeadersAsync(9, Http2RawClient.Get("/size/3"), endStream: true);
        await client.ExpectStreamErrorAsync(9, Http2ErrorCode.REFUSED_STREAM);
        for (int i = 0; i < 300 && host.Connections.Single().LiveStreams > 0; i++) await Task.Delay(10);
        await AssertServesAsync(client, 11); // the lingering handlers returned: served again
    }
}

/// <summary>§6 frame definitions: SETTINGS, PING, PRIORITY, RST_STREAM, GOAWAY, CONTINUATION, PUSH_PROMISE, unknown types.</summary>
public sealed class Http2Section6_FrameTests
{
    [Fact]
    public async Task PING_Received_AckWithSameOpaqueData()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendAsync(w => Http2FrameWriter.WritePing(w, 0x0102030405060708, ack: false));
        ReceivedFrame? ack = await client.WaitForAsync(f => f.Type == Http2FrameType.PING);
        Assert.Equal(Http2FrameFlags.ACK, ack!.Flags);
        Assert.Equal(0x0102030405060708ul, ack.Opaque);
    }

    [Fact]
    public async Task PING_Received_StreamIdNonZero_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendRawAsync(Http2FrameType.PING, 0, 1, new byte[8]);
        });
    }

    [Fact]
    public async Task SETTINGS_Received_Acknowledged()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, Setting(Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE, 32_768));
        ReceivedFrame? ack = await client.WaitForAsync(f => f.Type == Http2FrameType.SETTINGS);
        Assert.Equal(Http2FrameFlags.ACK, ack!.Flags);
        Assert.Empty(ack.Payload);
    }

    [Fact]
    public async Task SETTINGS_Received_AckWithPayload_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FRAME_SIZE_ERROR, async client =>
        {
            await client.SendRawAsync(Http2FrameType.SETTINGS, Http2FrameFlags.ACK, 0, new byte[6]);
        });
    }

    [Theory]
    [InlineData((int)Http2SettingsParameter.SETTINGS_ENABLE_PUSH, 2u, (int)Http2ErrorCode.PROTOCOL_ERROR)]
    [InlineData((int)Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 0x8000_0000u, (int)Http2ErrorCode.FLOW_CONTROL_ERROR)]
    [InlineData((int)Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE, 16_383u, (int)Http2ErrorCode.PROTOCOL_ERROR)]
    [InlineData((int)Http2SettingsParameter.SETTINGS_MAX_FRAME_SIZE, 16_777_216u, (int)Http2ErrorCode.PROTOCOL_ERROR)]
    public async Task SETTINGS_Received_InvalidValue_ConnectionError(int parameter, uint value, int expected)
    {
        await AssertConnectionErrorAsync((Http2ErrorCode)expected, async client =>
        {
            await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, Setting((Http2SettingsParameter)parameter, value));
        });
    }

    [Fact]
    public async Task SETTINGS_NotAcknowledged_Timeout_ConnectionError_SETTINGS_TIMEOUT()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(autoTick: false);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        var w = new System.Buffers.ArrayBufferWriter<byte>();
        w.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(w, []);
        await client.SendAsync(w.WrittenMemory); // and never acknowledges the server's SETTINGS
        await client.ReadFrameAsync();
        while (host.Connections.Count == 0) await Task.Delay(5);
        host.Tick(1_000);
        host.Tick(10_000);
        Assert.True(await client.NothingWithinAsync(f => f.Type == Http2FrameType.GOAWAY, 300)); // not yet: 9 s < 10 s
        host.Tick(11_001);
        await client.ExpectConnectionErrorAsync(Http2ErrorCode.SETTINGS_TIMEOUT);
    }

    [Fact]
    public async Task RST_STREAM_Received_OpenStream_HandlerSeesAbort()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
        while (host.Handler.StreamsStarted == 0) await Task.Delay(5);
        await client.SendRawAsync(Http2FrameType.RST_STREAM, 0, 1, U32((uint)Http2ErrorCode.CANCEL));
        Http2Connection c = host.Connections.Single();
        for (int i = 0; i < 200 && c.LiveStreams > 0; i++) await Task.Delay(10);
        Assert.Equal(0, c.LiveStreams);
        await AssertServesAsync(client, 3);
    }

    [Fact]
    public async Task RST_STREAM_Received_WrongLength_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FRAME_SIZE_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendRawAsync(Http2FrameType.RST_STREAM, 0, 1, new byte[3]);
        });
    }

    [Fact]
    public async Task GOAWAY_Received_ConnectionClosesOnceStreamsFinish()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Post("/echo"), endStream: false);
        await client.SendAsync(w => Http2FrameWriter.WriteGoAway(w, 0, Http2ErrorCode.NO_ERROR));
        await client.SendDataAsync(1, "z"u8.ToArray(), endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal("z", Encoding.ASCII.GetString(r.Body.ToArray()));
        Assert.Null(await client.WaitForAsync(_ => false));
    }

    [Fact]
    public async Task CONTINUATION_Received_HeaderBlockAcrossFrames_RequestServed()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        byte[] block = client.Encode(Http2RawClient.Get("/inspect", ("x-a", new string('a', 100))));
        await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_STREAM, 1, block[..10]);
        await client.SendRawAsync(Http2FrameType.CONTINUATION, 0, 1, block[10..50]);
        await client.SendRawAsync(Http2FrameType.CONTINUATION, Http2FrameFlags.END_HEADERS, 1, block[50..]);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal("/inspect", r.Header("x-path"));
        Assert.Equal("1", r.Header("x-fields"));
    }

    [Fact]
    public async Task CONTINUATION_Interleaved_OtherFrame_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            byte[] block = client.Encode(Http2RawClient.Get("/"));
            await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_STREAM, 1, block[..5]);
            await client.SendAsync(w => Http2FrameWriter.WritePing(w, 1, ack: false));
        });
    }

    [Fact]
    public async Task PUSH_PROMISE_Received_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendRawAsync(Http2FrameType.PUSH_PROMISE, Http2FrameFlags.END_HEADERS, 1, [0, 0, 0, 2, 0x82]);
        });
    }

    [Fact]
    public async Task PRIORITY_Received_WrongLength_StreamError_FRAME_SIZE_ERROR()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.FRAME_SIZE_ERROR, client => client.SendRawAsync(Http2FrameType.PRIORITY, 0, 1, [0, 0, 0, 0]));
    }

    [Fact]
    public async Task UnknownFrameType_Received_Ignored()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendRawAsync((Http2FrameType)0x42, (Http2FrameFlags)0xff, 1, [1, 2, 3]);
        await AssertServesAsync(client, 1);
    }
}

/// <summary>§6.9 flow control: WINDOW_UPDATE rules, overflow, windows enforced both ways, SETTINGS changes (§6.9.2).</summary>
public sealed class Http2Section6_9_FlowControlTests
{
    [Fact]
    public async Task WINDOW_UPDATE_Received_ZeroIncrementOnStream_StreamError()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendWindowUpdateAsync(1, 0);
        });
    }

    [Fact]
    public async Task WINDOW_UPDATE_Received_ZeroIncrementOnConnection_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendWindowUpdateAsync(0, 0);
        });
    }

    [Fact]
    public async Task WINDOW_UPDATE_Received_ConnectionWindowOverflow_ConnectionError()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FLOW_CONTROL_ERROR, async client =>
        {
            await client.SendWindowUpdateAsync(0, 0x7FFF_FFFF);
        });
    }

    [Fact]
    public async Task WINDOW_UPDATE_Received_StreamWindowOverflow_StreamError()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.FLOW_CONTROL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendWindowUpdateAsync(1, 0x7FFF_FFFF);
        });
    }

    [Fact]
    public async Task DATA_Received_BeyondStreamWindow_StreamError_FLOW_CONTROL_ERROR()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.FLOW_CONTROL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false);
            await client.SendDataAsync(1, new byte[16_384], endStream: false);
            await client.SendDataAsync(1, new byte[1], endStream: false);
        }, new Http2ConnectionLimits { InitialStreamWindowSize = 16_384 });
    }

    [Fact]
    public async Task DATA_Received_BeyondConnectionWindow_ConnectionError_FLOW_CONTROL_ERROR()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FLOW_CONTROL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false);
            for (int i = 0; i < 4; i++) await client.SendDataAsync(1, new byte[16_384], endStream: false);
        }, new Http2ConnectionLimits { ConnectionWindowSize = 65_535, InitialStreamWindowSize = 1 << 20 });
    }

    [Fact]
    public async Task SETTINGS_InitialWindowSize_Changed_AdjustsOpenStreams()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        await client.HandshakeAsync(new Http2Setting(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 0));
        await client.SendHeadersAsync(1, Http2RawClient.Get("/size/10"), endStream: true);
        Assert.NotNull(await client.WaitForAsync(f => f.Type == Http2FrameType.HEADERS && f.StreamId == 1));
        Assert.True(await client.NothingWithinAsync(f => f.Type == Http2FrameType.DATA, 300));
        await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, Setting(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 4));
        ReceivedFrame? data = await client.WaitForAsync(f => f.Type == Http2FrameType.DATA);
        Assert.Equal(4, data!.Payload.Length); // exactly the new window, not more
        await client.SendWindowUpdateAsync(1, 100);
        ReceivedFrame? rest = await client.WaitForAsync(f => f.Type == Http2FrameType.DATA);
        Assert.Equal(6, rest!.Payload.Length);
        Assert.True(rest.EndStream);
    }

    [Fact]
    public async Task SETTINGS_InitialWindowSize_OverflowsOpenStreamWindow_ConnectionError_FLOW_CONTROL_ERROR()
    {
        await AssertConnectionErrorAsync(Http2ErrorCode.FLOW_CONTROL_ERROR, async client =>
        {
            // §6.9.2: the stream's window is at 2^31-1; raising the initial window by one overflows it.
            await client.SendHeadersAsync(1, Http2RawClient.Get("/hold"), endStream: true);
            await client.SendWindowUpdateAsync(1, 0x7FFF_FFFF - 65_535);
            await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, Setting(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 65_536));
        });
    }

    [Fact]
    public async Task DATA_Sent_SplitToPeerMaxFrameSize()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/size/60000"), endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal(60_000, r.Body.Length);
        Assert.All(client.Skipped.Where(f => f.Type == Http2FrameType.DATA), f => Assert.True(f.Payload.Length <= 16_384));
    }

    [Fact]
    public async Task ZeroSendWindow_StalledPastTimeout_StreamReset()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(autoTick: false);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint, handshake: false);
        await client.HandshakeAsync(new Http2Setting(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 0));
        await client.SendHeadersAsync(1, Http2RawClient.Get("/size/10"), endStream: true);
        Assert.NotNull(await client.WaitForAsync(f => f.Type == Http2FrameType.HEADERS));
        host.Tick(1_000);
        await Task.Delay(100);
        host.Tick(20_000);
        host.Tick(31_500);
        await client.ExpectStreamErrorAsync(1, Http2ErrorCode.CANCEL);
        await client.SendRawAsync(Http2FrameType.SETTINGS, 0, 0, Setting(Http2SettingsParameter.SETTINGS_INITIAL_WINDOW_SIZE, 65_535));
        await AssertServesAsync(client, 3);
    }
}

/// <summary>§8.1-§8.3 HTTP message exchange: header validation (malformed requests are stream errors), the request head.</summary>
public sealed class Http2Section8_HttpMessageTests
{
    [Fact]
    public async Task HEADERS_Received_ValidRequest_HeadFilledForRouting()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, [(":method", "POST"), (":scheme", "https"), (":authority", "api.example:8443"), (":path", "/inspect?q=1"),
            ("content-length", "3"), ("x-one", "1")], endStream: false);
        await client.SendDataAsync(1, [1, 2, 3], endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal("POST", r.Header("x-method"));
        Assert.Equal("https", r.Header("x-scheme"));
        Assert.Equal("api.example:8443", r.Header("x-authority"));
        Assert.Equal("/inspect?q=1", r.Header("x-path"));
        Assert.Equal("ContentLength/3", r.Header("x-framing"));
        Assert.Equal("2", r.Header("x-fields"));
    }

    [Fact]
    public async Task HEADERS_Received_HostWithoutAuthority_AuthorityFromHost()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, [(":method", "GET"), (":scheme", "http"), (":path", "/inspect"), ("host", "h.example")], endStream: true);
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal("h.example", r.Header("x-authority"));
        Assert.Equal("None/-1", r.Header("x-framing"));
    }

    public static TheoryData<string, string[]> Malformed => new()
    {
        { "uppercase field name", ["x-Upper", "1"] },
        { "connection", ["connection", "close"] },
        { "keep-alive", ["keep-alive", "1"] },
        { "proxy-connection", ["proxy-connection", "1"] },
        { "transfer-encoding", ["transfer-encoding", "chunked"] },
        { "upgrade", ["upgrade", "h2c"] },
        { "te other than trailers", ["te", "gzip"] },
        { "pseudo after regular", ["x-a", "1", ":authority", "b"] },
        { "unknown pseudo", [":foo", "1"] },
        { "duplicate :path", [":path", "/again"] },
        { "response pseudo in request", [":status", "200"] },
        { "value with leading space", ["x-a", " v"] },
        { "invalid content-length", ["content-length", "1x"] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public async Task HEADERS_Received_Malformed_StreamError_PROTOCOL_ERROR(string why, string[] extra)
    {
        Assert.NotEmpty(why);
        var fields = new List<(string, string)>(Http2RawClient.Get("/"));
        for (int i = 0; i < extra.Length; i += 2) fields.Add((extra[i], extra[i + 1]));
        await AssertMalformedAsync(fields.ToArray());
    }

    [Theory]
    [InlineData(":method")]
    [InlineData(":scheme")]
    [InlineData(":path")]
    public async Task HEADERS_Received_MissingPseudoHeader_StreamError(string missing)
    {
        await AssertMalformedAsync(Http2RawClient.Get("/").Where(f => f.Item1 != missing).ToArray());
    }

    [Fact]
    public async Task HEADERS_Received_EmptyPath_StreamError() =>
        await AssertMalformedAsync([(":method", "GET"), (":scheme", "http"), (":path", ""), (":authority", "a")]);

    [Fact]
    public async Task HEADERS_Received_ConnectWithPath_StreamError() =>
        await AssertMalformedAsync([(":method", "CONNECT"), (":authority", "a:443"), (":path", "/")]);

    [Fact]
    public async Task HEADERS_Received_TeTrailers_Accepted()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Get("/size/1", ("te", "trailers")), endStream: true);
        Assert.Equal(200, (await client.ReadResponseAsync(1)).Status);
    }

    [Theory]
    [InlineData(2, 3)]
    [InlineData(4, 3)]
    public async Task DATA_Received_ContentLengthMismatch_StreamError(int sent, int declared)
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold", ("content-length", declared.ToString(System.Globalization.CultureInfo.InvariantCulture))), endStream: false);
            await client.SendDataAsync(1, new byte[sent], endStream: true);
        });
    }

    [Fact]
    public async Task HEADERS_Received_TrailersBeforeContentLengthMet_StreamError()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold", ("content-length", "10")), endStream: false);
            await client.SendDataAsync(1, new byte[5], endStream: false);
            await client.SendHeadersAsync(1, [("x-t", "1")], endStream: true);
        });
    }

    [Fact]
    public async Task Handler_ReturnsWithoutEndingResponse_StreamEndedWithEmptyData()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        for (uint id = 1; id <= 7; id += 2)
        {
            await client.SendHeadersAsync(id, Http2RawClient.Get("/noend"), endStream: true);
            ReceivedResponse r = await client.ReadResponseAsync(id);
            Assert.Equal(200, r.Status);
            Assert.Null(r.Reset);
        }
        Assert.Equal(0, host.Connections.Single().LiveStreams); // each stream released once
        await AssertServesAsync(client, 9);
    }

    [Fact]
    public async Task Handler_Throws_StreamError_INTERNAL_ERROR()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.INTERNAL_ERROR, client => client.SendHeadersAsync(1, Http2RawClient.Get("/throw"), endStream: true));
    }

    [Fact]
    public async Task HEADERS_Received_TrailersWithPseudoHeader_StreamError()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false);
            await client.SendHeadersAsync(1, [(":path", "/x")], endStream: true);
        });
    }

    [Fact]
    public async Task HEADERS_Received_TrailersWithoutEndStream_StreamError()
    {
        await AssertStreamErrorAsync(1, Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            await client.SendHeadersAsync(1, Http2RawClient.Post("/hold"), endStream: false);
            await client.SendHeadersAsync(1, [("x-t", "1")], endStream: false);
        });
    }

    [Fact]
    public async Task HEADERS_Sent_SensitiveFields_NeverIndexed()
    {
        // The echo handler returns request trailers as response trailers: a set-cookie among them goes out with the
        // never-indexed representation (RFC 7541 §6.2.3: first octet 0001xxxx).
        await using Http2TestHost host = await Http2TestHost.StartAsync();
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        await client.SendHeadersAsync(1, Http2RawClient.Post("/echo"), endStream: false);
        await client.SendHeadersAsync(1, [("set-cookie", "secret=1")], endStream: true);
        ReceivedFrame? trailers = await client.WaitForAsync(f => f.Type == Http2FrameType.HEADERS && f.EndStream);
        Assert.Equal(0x10, trailers!.Payload[0] & 0xF0);
    }
}

/// <summary>§10.5.1 limits on field block size: a request over SETTINGS_MAX_HEADER_LIST_SIZE is a stream-level 431.</summary>
public sealed class Http2Section10_5_HeaderListTests
{
    private static readonly Http2ConnectionLimits SmallList = new() { MaxHeaderListSize = 4096 };

    /// <summary>A request head: the pseudo-fields, a 5000-octet field (over the 4096 limit) and then "x-late: v" with
    /// incremental indexing, which the decoder must still insert (index 62) although it is past the limit.</summary>
    private static byte[] OversizedBlock(HPackEncoder encoder, params (string, string)[] pseudo)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach ((string n, string v) in pseudo) encoder.Encode(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), w, HPackIndexing.WithoutIndexing);
        encoder.Encode("x-big"u8, Encoding.ASCII.GetBytes(new string('b', 5000)), w, HPackIndexing.WithoutIndexing);
        encoder.Encode("x-late"u8, "v"u8, w, HPackIndexing.IncrementalIndexing);
        return w.WrittenSpan.ToArray();
    }

    /// <summary>GET /inspect naming "x-late: v" by its dynamic table index: served only if the tables are in step.</summary>
    private static async Task AssertTableInStepAsync(Http2RawClient client, HPackEncoder encoder, uint streamId)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach ((string n, string v) in Http2RawClient.Get("/inspect"))
            encoder.Encode(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), w, HPackIndexing.WithoutIndexing);
        w.Write<byte>([0xBE]); // index 62: the first dynamic entry, x-late
        await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, streamId, w.WrittenSpan.ToArray());
        ReceivedResponse r = await client.ReadResponseAsync(streamId);
        Assert.Equal(200, r.Status);
        Assert.Equal("1", r.Header("x-fields"));
    }

    [Fact]
    public async Task HEADERS_HeaderListOverLimit_431OnTheStream_ConnectionServesOn()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(SmallList);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        var encoder = new HPackEncoder();
        await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, 1,
            OversizedBlock(encoder, Http2RawClient.Get("/")));
        ReceivedResponse r = await client.ReadResponseAsync(1);
        Assert.Equal(431, r.Status);
        Assert.Null(r.Reset);
        Assert.Equal(0, host.Handler.StreamsStarted); // answered by the connection, no handler ran
        await AssertTableInStepAsync(client, encoder, 3);
    }

    [Fact]
    public async Task HEADERS_HeaderListOverLimit_BodyStillComing_431ThenRstStreamNoError()
    {
        await using Http2TestHost host = await Http2TestHost.StartAsync(SmallList);
        await using Http2RawClient client = await Http2RawClient.ConnectAsync(host.EndPoint);
        var encoder = new HPackEncoder();
        // Split over CONTINUATION frames, and the request body has not ended: 431, then RST_STREAM NO_ERROR (§8.1).
        byte[] block = OversizedBlock(encoder, Http2RawClient.Post("/echo"));
        await client.SendRawAsync(Http2FrameType.HEADERS, 0, 1, block[..3000]);
        await client.SendRawAsync(Http2FrameType.CONTINUATION, Http2FrameFlags.END_HEADERS, 1, block[3000..]);
        ReceivedFrame? head = await client.WaitForAsync(f => f.StreamId == 1);
        Assert.NotNull(head);
        Assert.Equal(Http2FrameType.HEADERS, head.Type);
        Assert.True(head.EndStream);
        Assert.Contains((":status", "431"), head.Fields);
        await client.ExpectStreamErrorAsync(1, Http2ErrorCode.NO_ERROR);
        await client.SendDataAsync(1, "late body"u8.ToArray(), endStream: true); // crossed our reset: ignored
        await AssertTableInStepAsync(client, encoder, 3);
    }

    [Fact]
    public async Task HEADERS_FrameInSeveralBufferSegments_BlockEndsInTheDecoder()
    {
        // The transport hands a frame over in 512-octet buffer segments. END_HEADERS must reach the decoder with the
        // last one, or the block never ends there and its state leaks into the next block: here a table size update,
        // legal only at the start of a block, would then be a COMPRESSION_ERROR.
        var toServer = new Pipe(new PipeOptions(minimumSegmentSize: 512));
        var toClient = new Pipe();
        var connection = new Http2Connection(new Http2StreamAllocationTests.Duplex(toServer.Reader, toClient.Writer), new Http2EchoHandler());
        Task run = connection.RunAsync();
        PipeWriter send = toServer.Writer;
        send.Write(Http2ConnectionPreface.ClientPreface);
        Http2FrameWriter.WriteSettings(send, []);
        Http2FrameWriter.WriteSettingsAck(send);
        var encoder = new HPackEncoder();
        byte[] first = Block(encoder, [], Http2RawClient.Get("/inspect", ("x-a", new string('a', 3000))));
        byte[] second = Block(encoder, [0x3F, 0xE1, 0x1F], Http2RawClient.Get("/inspect")); // size update to 4096 first
        foreach ((uint id, byte[] block) in new[] { (1u, first), (3u, second) })
        {
            var frame = new ArrayBufferWriter<byte>();
            Http2FrameWriter.WriteHeaders(frame, id, block, endStream: true, 16_384);
            send.Write(frame.WrittenSpan); // copied into as many 512-octet segments as it takes
        }
        await send.FlushAsync();

        var ended = new List<uint>();
        Http2FrameReader frames = Http2FrameReader.ForClient(enablePush: false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (ended.Count < 2)
        {
            ReadResult read = await toClient.Reader.ReadAsync(timeout.Token);
            var reader = new SequenceReader<byte>(read.Buffer);
            while (frames.TryReadFrame(ref reader, out Http2Frame f, out _) == Http2FrameReadStatus.Frame)
            {
                Assert.NotEqual(Http2FrameType.GOAWAY, f.Type);
                Assert.NotEqual(Http2FrameType.RST_STREAM, f.Type);
                if (f.EndStream) ended.Add(f.StreamId);
            }
            toClient.Reader.AdvanceTo(reader.Position, read.Buffer.End);
            Assert.False(read.IsCompleted, "the connection ended");
        }
        Assert.Equal([1u, 3u], ended.Order());
        await send.CompleteAsync();
        await run;
    }

    private static byte[] Block(HPackEncoder encoder, byte[] prefix, (string, string)[] fields)
    {
        var w = new ArrayBufferWriter<byte>();
        w.Write(prefix);
        foreach ((string n, string v) in fields) encoder.Encode(Encoding.ASCII.GetBytes(n), Encoding.ASCII.GetBytes(v), w, HPackIndexing.WithoutIndexing);
        return w.WrittenSpan.ToArray();
    }

    [Fact]
    public async Task HEADERS_HeaderListPastHardBound_ConnectionError()
    {
        // A decoded list over twice the limit is not decoded to its end (HPACK bomb): the table cannot be trusted any
        // more, so the connection ends. (A block over twice the limit on the wire ends it with ENHANCE_YOUR_CALM:
        // Http2DefenceTests.ContinuationFlood_*.)
        await AssertConnectionErrorAsync(Http2ErrorCode.PROTOCOL_ERROR, async client =>
        {
            byte[] block = client.Encode(Http2RawClient.Get("/", ("x-a", new string('a', 3000)), ("x-b", new string('b', 3000)),
                ("x-c", new string('c', 3000))));
            await client.SendRawAsync(Http2FrameType.HEADERS, Http2FrameFlags.END_HEADERS | Http2FrameFlags.END_STREAM, 1, block);
        }, SmallList);
    }
}
