// Incremental decoder for the chunked transfer coding (RFC 9112 §7.1): yields data slices as they arrive, so a body
// of any size streams through without being buffered; sizes, extensions and terminators are validated strictly.
using System.Buffers;
using FastPath.Http;

namespace FastPath.Http1;

internal enum ChunkedStep : byte
{
    NeedMore = 0,
    Data,
    Trailers,
    Error,
}

internal struct ChunkedDecoder
{
    // 15 hex digits keep the size below 2^60: no overflow, and no real body is larger.
    private const int MaxSizeDigits = 15;
    private const int MaxExtensionBytes = 4096;

    private enum State : byte { Size, Extension, SizeLF, Data, DataCR, DataLF, Trailers }

    private State _state;
    private long _chunkRemaining;
    private int _digits;
    private int _extensionBytes;

    public RequestRejectionReason Error { get; private set; }

    /// <summary>
    /// Advances over framing bytes. Returns Data with the next slice of chunk data (already consumed from the reader),
    /// Trailers when the last-chunk was read and the trailer section begins at the reader, or NeedMore.
    /// </summary>
    public ChunkedStep Next(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> data)
    {
        data = default;
        while (true)
        {
            switch (_state)
            {
                case State.Size:
                {
                    if (!reader.TryPeek(out byte b)) return ChunkedStep.NeedMore;
                    int hex = HexValue(b);
                    if (hex >= 0)
                    {
                        if (++_digits > MaxSizeDigits) return Fail(RequestRejectionReason.InvalidChunkSize);
                        _chunkRemaining = (_chunkRemaining << 4) | (uint)hex;
                        reader.Advance(1);
                        continue;
                    }
                    if (_digits == 0) return Fail(RequestRejectionReason.InvalidChunkSize);
                    if (b == HttpChars.CR) { reader.Advance(1); _state = State.SizeLF; continue; }
                    if (b == (byte)';' || b == HttpChars.SP || b == HttpChars.HTAB) { _state = State.Extension; continue; }
                    return Fail(RequestRejectionReason.InvalidChunkSize);
                }
                case State.Extension:
                {
                    // chunk-ext is skipped (never forwarded: the proxy re-chunks), but bounded and free of CTLs.
                    if (!reader.TryPeek(out byte b)) return ChunkedStep.NeedMore;
                    if (b == HttpChars.CR) { reader.Advance(1); _state = State.SizeLF; continue; }
                    if ((b < 0x20 && b != HttpChars.HTAB) || b == 0x7f || ++_extensionBytes > MaxExtensionBytes)
                        return Fail(RequestRejectionReason.InvalidChunkExtension);
                    reader.Advance(1);
                    continue;
                }
                case State.SizeLF:
                {
                    if (!reader.TryRead(out byte b)) return ChunkedStep.NeedMore;
                    if (b != HttpChars.LF) return Fail(RequestRejectionReason.InvalidChunkSize);
                    _digits = 0;
                    _extensionBytes = 0;
                    if (_chunkRemaining == 0)
                    {
                        _state = State.Trailers;
                        return ChunkedStep.Trailers;
                    }
                    _state = State.Data;
                    continue;
                }
                case State.Data:
                {
                    long available = reader.Remaining;
                    if (available == 0) return ChunkedStep.NeedMore;
                    long take = Math.Min(available, _chunkRemaining);
                    data = reader.UnreadSequence.Slice(0, take);
                    reader.Advance(take);
                    _chunkRemaining -= take;
                    if (_chunkRemaining == 0) _state = State.DataCR;
                    return ChunkedStep.Data;
                }
                case State.DataCR:
                {
                    if (!reader.TryRead(out byte b)) return ChunkedStep.NeedMore;
                    if (b != HttpChars.CR) return Fail(RequestRejectionReason.InvalidChunkTerminator);
                    _state = State.DataLF;
                    continue;
                }
                case State.DataLF:
                {
                    if (!reader.TryRead(out byte b)) return ChunkedStep.NeedMore;
                    if (b != HttpChars.LF) return Fail(RequestRejectionReason.InvalidChunkTerminator);
                    _state = State.Size;
                    continue;
                }
                default:
                    return ChunkedStep.Trailers;
            }
        }
    }

    private ChunkedStep Fail(RequestRejectionReason reason)
    {
        Error = reason;
        return ChunkedStep.Error;
    }

    private static int HexValue(byte b)
    {
        uint d = (uint)(b - '0');
        if (d <= 9) return (int)d;
        uint l = (uint)((b | 0x20) - 'a');
        return l <= 5 ? (int)l + 10 : -1;
    }
}

/// <summary>Collects trailer fields; framing and routing fields are dropped as RFC 9110 §6.5.1 forbids them there.</summary>
internal readonly struct Http1TrailerHandler(HttpHeaderBlock block) : IHttp1HeadHandler
{
    public RequestRejectionReason OnStartLine(ReadOnlySpan<byte> line) => RequestRejectionReason.InvalidTrailer;

    public RequestRejectionReason OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        KnownHeader id = KnownHeaders.Lookup(name);
        ref HeaderEntry e = ref block.AddParsed(name, value, id);
        if (id is KnownHeader.ContentLength or KnownHeader.Host or KnownHeader.Trailer || KnownHeaders.IsHopByHop(id)) e.Skip = true;
        return RequestRejectionReason.None;
    }
}
