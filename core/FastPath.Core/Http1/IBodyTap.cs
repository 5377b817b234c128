// A reader of a body as it streams through the codec: it sees each decoded chunk before the chunk is forwarded, and
// the trailers at the end. The HTTP filters' body hooks ride on it; a forwarder gets one only when some filter asked
// for bodies, so every other body streams untouched and zero-copy.
using System.Buffers;
using FastPath.Http;

namespace FastPath.Http1;

internal interface IBodyTap
{
    /// <summary>One decoded piece of the body (no chunk framing), valid only during the call.</summary>
    void OnData(in ReadOnlySequence<byte> data);

    /// <summary>The body is complete; <paramref name="trailers"/> holds its trailer fields, if it had any.</summary>
    void OnEnd(HttpHeaderBlock? trailers);
}
