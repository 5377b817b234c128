// Reads a TLS ClientHello without consuming it (what Envoy's tls_inspector does): the server name (RFC 6066 section 3)
// and the ALPN protocol list (RFC 7301 section 3.1), so a filter chain can be chosen before any byte is forwarded or
// decrypted. The handshake message may span several TLS records and arrive in many reads, so the record layer is
// walked incrementally (ClientHelloScan remembers how far) and the message is parsed once, when it is all here.
using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace FastPath.Filters.Listener;

internal enum ClientHelloParseResult : byte
{
    /// <summary>A ClientHello was parsed; ServerName and Alpn hold what it carried (either may be empty).</summary>
    Complete = 0,
    /// <summary>More bytes are needed; everything read so far is consistent with a ClientHello.</summary>
    Incomplete,
    /// <summary>Not a TLS handshake (plaintext, or a malformed hello): the connection goes on as "raw_buffer".</summary>
    NotTls,
    /// <summary>Larger than the bound: the connection is closed (Envoy: client_hello_too_large).</summary>
    TooLarge,
}

/// <summary>Progress over the record layer, kept between reads so a hello that trickles in is walked once.</summary>
internal struct ClientHelloScan
{
    /// <summary>Bytes of input covered by complete records already walked.</summary>
    public long Walked;
    /// <summary>Handshake bytes those records carried.</summary>
    public int Payload;
    /// <summary>Records walked (bounded: a hello cut into one-byte records is an attack, not a client).</summary>
    public int Records;
}

[InlineArray(ClientHelloInfo.MaxServerNameBytes)]
internal struct ServerNameBuffer
{
    private byte _element;
}

[InlineArray(ClientHelloInfo.MaxAlpnBytes)]
internal struct AlpnBuffer
{
    private byte _element;
}

/// <summary>What the inspector learnt, held inline (no array per connection).</summary>
internal struct ClientHelloInfo
{
    public const int MaxServerNameBytes = 255;
    /// <summary>ALPN lists longer than this keep the protocols that fit (real clients send well under 64 bytes).</summary>
    public const int MaxAlpnBytes = 256;

    private ServerNameBuffer _serverName;
    private AlpnBuffer _alpn;
    private int _serverNameLength;
    private int _alpnLength;

    /// <summary>host_name from server_name, lower-cased (DNS names compare without case), empty when absent.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> ServerName => ((ReadOnlySpan<byte>)_serverName)[.._serverNameLength];

    /// <summary>The client's protocols in its order, in wire form: a length byte before each.</summary>
    [UnscopedRef]
    public ReadOnlySpan<byte> Alpn => ((ReadOnlySpan<byte>)_alpn)[.._alpnLength];

    public void Reset()
    {
        _serverNameLength = 0;
        _alpnLength = 0;
    }

    [UnscopedRef]
    internal Span<byte> ServerNameSpace => _serverName;

    [UnscopedRef]
    internal Span<byte> AlpnSpace => _alpn;

    internal void SetLengths(int serverName, int alpn)
    {
        _serverNameLength = serverName;
        _alpnLength = alpn;
    }
}

internal static class ClientHelloParser
{
    /// <summary>Envoy's bound on a ClientHello (tls_inspector max_client_hello_size).</summary>
    public const int MaxClientHelloBytes = 64 * 1024;

    // Each record costs a 5-byte header; a client needs one, a post-quantum key share two or three. Thousands mean
    // an attacker making the walk expensive.
    private const int MaxRecords = 64;

    private const byte ContentTypeHandshake = 22;
    private const byte HandshakeClientHello = 1;
    private const ushort ExtensionServerName = 0;
    private const ushort ExtensionAlpn = 16;
    private const byte NameTypeHostName = 0;
    private const int MaxRecordPayload = (1 << 14) + 2048; // RFC 8446 section 5.1 plaintext limit, with TLS 1.2's slack

    /// <summary>
    /// Looks at <paramref name="input"/> (the connection's first bytes, never consumed) and, once the whole
    /// ClientHello is there, fills <paramref name="info"/>. Call again with the same scan and a longer input while
    /// the result is Incomplete.
    /// </summary>
    public static ClientHelloParseResult Parse(in ReadOnlySequence<byte> input, ref ClientHelloScan scan, ref ClientHelloInfo info)
    {
        info.Reset();
        if (input.IsEmpty) return ClientHelloParseResult.Incomplete;
        // The first byte decides (Envoy does the same): a TLS connection starts with a handshake record.
        if (FirstByte(input) != ContentTypeHandshake) return ClientHelloParseResult.NotTls;

        // 1. Walk whole records until the handshake message they carry is complete. The message's type and length
        //    are checked as soon as they are here, so a huge or foreign handshake is refused before it is waited on.
        if (scan.Payload < 4)
        {
            int early = HandshakeLength(input);
            if (early == -1) return ClientHelloParseResult.NotTls;
            if (early + 4 > MaxClientHelloBytes) return ClientHelloParseResult.TooLarge;
        }
        var reader = new SequenceReader<byte>(input);
        reader.Advance(scan.Walked);
        int handshakeLength = -1;
        while (true)
        {
            if (scan.Payload >= 4)
            {
                handshakeLength = HandshakeLength(input);
                if (handshakeLength < 0) return ClientHelloParseResult.NotTls;
                if (scan.Payload >= handshakeLength + 4) break;
            }
            if (!reader.TryRead(out byte type) || !reader.TryRead(out byte major) || !reader.TryRead(out _)
                || !reader.TryReadBigEndian(out short length))
            {
                return IncompleteOrNot(input, scan);
            }
            if (type != ContentTypeHandshake || major != 3 || length <= 0 || length > MaxRecordPayload) return ClientHelloParseResult.NotTls;
            if (reader.Remaining < length) return ClientHelloParseResult.Incomplete;
            reader.Advance(length);
            scan.Walked = reader.Consumed;
            scan.Payload += length;
            if (++scan.Records > MaxRecords) return ClientHelloParseResult.TooLarge;
        }

        // 2. Parse the message itself through a reader that skips record headers.
        var hello = new HandshakeReader(input);
        if (!hello.TryReadByte(out byte msgType) || msgType != HandshakeClientHello) return ClientHelloParseResult.NotTls;
        hello.Skip(3); // length, known from the walk
        return ParseBody(ref hello, handshakeLength, ref info) ? ClientHelloParseResult.Complete : ClientHelloParseResult.NotTls;
    }

    private static ClientHelloParseResult IncompleteOrNot(in ReadOnlySequence<byte> input, in ClientHelloScan scan)
    {
        // A record header cut short: check what is there of it, so plaintext starting with 0x16 is not waited on.
        ReadOnlySequence<byte> rest = input.Slice(scan.Walked);
        Span<byte> head = stackalloc byte[2];
        int n = (int)Math.Min(rest.Length, 2);
        rest.Slice(0, n).CopyTo(head);
        if (n >= 1 && head[0] != ContentTypeHandshake) return ClientHelloParseResult.NotTls;
        if (n >= 2 && head[1] != 3) return ClientHelloParseResult.NotTls;
        return ClientHelloParseResult.Incomplete;
    }

    private static byte FirstByte(in ReadOnlySequence<byte> input) => input.FirstSpan.Length > 0 ? input.FirstSpan[0] : FirstByteSlow(input);

    private static byte FirstByteSlow(in ReadOnlySequence<byte> input)
    {
        foreach (ReadOnlyMemory<byte> segment in input)
            if (!segment.IsEmpty) return segment.Span[0];
        return 0;
    }

    /// <summary>The 24-bit ClientHello length; -1 for another handshake message, -2 while its four bytes are not all here.</summary>
    private static int HandshakeLength(in ReadOnlySequence<byte> input)
    {
        var hello = new HandshakeReader(input);
        if (!hello.TryReadByte(out byte msgType)) return -2;
        if (msgType != HandshakeClientHello) return -1;
        if (!hello.TryReadByte(out byte b0) || !hello.TryReadByte(out byte b1) || !hello.TryReadByte(out byte b2)) return -2;
        return (b0 << 16) | (b1 << 8) | b2;
    }

    // RFC 8446 section 4.1.2 (and RFC 5246 section 7.4.1.2, the same layout):
    //   ProtocolVersion legacy_version; Random random[32]; opaque legacy_session_id<0..32>;
    //   CipherSuite cipher_suites<2..2^16-2>; opaque legacy_compression_methods<1..2^8-1>;
    //   Extension extensions<8..2^16-1>  (absent in old clients)
    private static bool ParseBody(ref HandshakeReader hello, int length, ref ClientHelloInfo info)
    {
        int start = hello.Position;
        if (!hello.TryReadByte(out byte major) || major != 3 || !hello.Skip(1 + 32)) return false;
        if (!hello.TryReadByte(out byte sessionIdLength) || sessionIdLength > 32 || !hello.Skip(sessionIdLength)) return false;
        if (!hello.TryReadUInt16(out ushort suites) || suites < 2 || (suites & 1) != 0 || !hello.Skip(suites)) return false;
        if (!hello.TryReadByte(out byte compressions) || compressions < 1 || !hello.Skip(compressions)) return false;
        int used = hello.Position - start;
        if (used > length) return false;
        if (used == length) return true; // no extensions: no SNI, no ALPN
        if (!hello.TryReadUInt16(out ushort extensionsLength) || used + 2 + extensionsLength != length) return false;

        int serverNameLength = 0, alpnLength = 0;
        int end = hello.Position + extensionsLength;
        while (hello.Position < end)
        {
            if (!hello.TryReadUInt16(out ushort type) || !hello.TryReadUInt16(out ushort extLength) || hello.Position + extLength > end) return false;
            int extEnd = hello.Position + extLength;
            if (type == ExtensionServerName && serverNameLength == 0)
            {
                if (!ReadServerName(ref hello, extEnd, info.ServerNameSpace, out serverNameLength)) return false;
            }
            else if (type == ExtensionAlpn && alpnLength == 0)
            {
                if (!ReadAlpn(ref hello, extEnd, info.AlpnSpace, out alpnLength)) return false;
            }
            if (!hello.Skip(extEnd - hello.Position)) return false;
        }
        info.SetLengths(serverNameLength, alpnLength);
        return hello.Position == end;
    }

    // RFC 6066 section 3: ServerName server_name_list<1..2^16-1>, each a NameType and a HostName<1..2^16-1>.
    // The first host_name counts; one longer than a DNS name can be is ignored rather than truncated.
    private static bool ReadServerName(ref HandshakeReader hello, int extEnd, scoped Span<byte> dest, out int written)
    {
        written = 0;
        if (!hello.TryReadUInt16(out ushort listLength) || hello.Position + listLength != extEnd) return false;
        while (hello.Position < extEnd)
        {
            if (!hello.TryReadByte(out byte nameType) || !hello.TryReadUInt16(out ushort nameLength) || hello.Position + nameLength > extEnd) return false;
            if (nameType == NameTypeHostName && written == 0 && nameLength is > 0 and <= ClientHelloInfo.MaxServerNameBytes)
            {
                for (int i = 0; i < nameLength; i++)
                {
                    if (!hello.TryReadByte(out byte b)) return false;
                    dest[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
                }
                written = nameLength;
            }
            else if (!hello.Skip(nameLength))
            {
                return false;
            }
        }
        return true;
    }

    // RFC 7301 section 3.1: ProtocolName protocol_name_list<2..2^16-1>, each opaque<1..2^8-1>. Kept in wire form.
    private static bool ReadAlpn(ref HandshakeReader hello, int extEnd, scoped Span<byte> dest, out int written)
    {
        written = 0;
        if (!hello.TryReadUInt16(out ushort listLength) || hello.Position + listLength != extEnd) return false;
        while (hello.Position < extEnd)
        {
            if (!hello.TryReadByte(out byte length) || length == 0 || hello.Position + length > extEnd) return false;
            if (written + 1 + length > dest.Length)
            {
                if (!hello.Skip(length)) return false;
                continue;
            }
            dest[written++] = length;
            for (int i = 0; i < length; i++)
            {
                if (!hello.TryReadByte(out byte b)) return false;
                dest[written++] = b;
            }
        }
        return true;
    }

    /// <summary>Reads the handshake byte stream carried by consecutive records, stepping over each 5-byte header.</summary>
    private ref struct HandshakeReader
    {
        private SequenceReader<byte> _reader;
        private int _recordLeft;

        public HandshakeReader(in ReadOnlySequence<byte> input)
        {
            _reader = new SequenceReader<byte>(input);
            _recordLeft = 0;
            Position = 0;
        }

        /// <summary>Handshake bytes read so far.</summary>
        public int Position { get; private set; }

        private bool NextRecord()
        {
            // The walk already checked every header up to the end of the message.
            if (!_reader.TryRead(out byte type) || type != ContentTypeHandshake || _reader.Remaining < 4) return false;
            _reader.Advance(2);
            _reader.TryReadBigEndian(out short length);
            _recordLeft = length;
            return length > 0;
        }

        public bool TryReadByte(out byte value)
        {
            value = 0;
            if (_recordLeft == 0 && !NextRecord()) return false;
            if (!_reader.TryRead(out value)) return false;
            _recordLeft--;
            Position++;
            return true;
        }

        public bool TryReadUInt16(out ushort value)
        {
            value = 0;
            if (!TryReadByte(out byte hi) || !TryReadByte(out byte lo)) return false;
            value = (ushort)((hi << 8) | lo);
            return true;
        }

        public bool Skip(int count)
        {
            while (count > 0)
            {
                if (_recordLeft == 0 && !NextRecord()) return false;
                int step = Math.Min(count, _recordLeft);
                if (_reader.Remaining < step) return false;
                _reader.Advance(step);
                _recordLeft -= step;
                Position += step;
                count -= step;
            }
            return true;
        }
    }
}
