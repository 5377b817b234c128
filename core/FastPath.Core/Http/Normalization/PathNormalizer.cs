// Normalises a request path once, in place, before routing and authorization see it and before it is forwarded, so
// that /a/../admin, /%2e%2e/admin, /admin/. or //admin (under MERGE_SLASHES) cannot slip past a policy written for
// /admin (CVE-2021-31920). Works on UTF-8 bytes without allocating: every step writes no more bytes than it reads.
using System.Buffers;
using System.Runtime.CompilerServices;

namespace FastPath.Http.Normalization;

internal static class PathNormalizer
{
    /// <summary>Returned instead of a length when the path cannot be normalised safely: answer 400.</summary>
    public const int Invalid = -1;

    // Bytes that can make a path differ from its normal form. A path without any of them (and without "//" when
    // slashes merge) is already normal, which is the common case and costs one vectorised scan.
    private static readonly SearchValues<byte> Suspicious = SearchValues.Create("%\\."u8);

    /// <summary>
    /// Normalises the origin-form target of <paramref name="request"/> (the path; the query is kept as it was) in its
    /// header store. False when the path cannot be normalised safely (a malformed or NUL percent-escape): the
    /// request must be refused with 400. An asterisk-form target (OPTIONS *) is left alone.
    /// </summary>
    public static bool TryNormalize(HttpRequestHead request, PathNormalization mode)
    {
        if (mode == PathNormalization.None || request.PathLength == 0) return true;
        Span<byte> target = request.Headers.WritableSlice(request.PathStart, request.PathLength);
        if (target[0] != (byte)'/') return true;
        int query = target.IndexOf((byte)'?');
        int pathLength = query < 0 ? target.Length : query;
        int n = Normalize(target[..pathLength], mode);
        if (n == Invalid) return false;
        if (n == pathLength) return true;
        if (query >= 0) target[query..].CopyTo(target[n..]); // overlapping copies are memmove-safe
        request.PathLength = n + (target.Length - pathLength);
        return true;
    }

    /// <summary>
    /// Normalises <paramref name="path"/> (an absolute path without its query) in place and returns its new length,
    /// or <see cref="Invalid"/>. The order is Istio's: decode %2F/%5C (DecodeAndMergeSlashes), then RFC 3986 with
    /// Envoy's extras (unreserved escapes decoded, other escapes upper-cased, backslash as slash, dot segments
    /// removed, never above the root), then merge slashes. Decoding happens once: "%252e" stays "%252e".
    /// </summary>
    public static int Normalize(Span<byte> path, PathNormalization mode)
    {
        if (mode == PathNormalization.None) return path.Length;
        if (path.IsEmpty || path[0] != (byte)'/') return Invalid;
        bool merge = mode >= PathNormalization.MergeSlashes;
        if (path.IndexOfAny(Suspicious) < 0 && (!merge || path.IndexOf("//"u8) < 0)) return path.Length;
        bool decodeSlashes = mode == PathNormalization.DecodeAndMergeSlashes;

        // Segment by segment: r reads the input at a separator, w writes the output (w <= r always, so one buffer
        // serves both). Each segment is written as "/" + its decoded bytes, then kept, dropped (".") or, for "..",
        // removed together with the segment before it (RFC 3986 §5.2.4).
        int r = 0, w = 0;
        while (r < path.Length)
        {
            r += SeparatorLength(path, r, decodeSlashes);
            if (merge)
            {
                int more;
                while (r < path.Length && (more = SeparatorLength(path, r, decodeSlashes)) > 0) r += more;
            }
            path[w] = (byte)'/';
            int segment = w + 1, end = segment;
            while (r < path.Length && SeparatorLength(path, r, decodeSlashes) == 0)
            {
                byte b = path[r];
                if (b != (byte)'%')
                {
                    path[end++] = b;
                    r++;
                    continue;
                }
                if (r + 2 >= path.Length) return Invalid; // a truncated escape
                int hi = HexValue(path[r + 1]), lo = HexValue(path[r + 2]);
                if ((hi | lo) < 0) return Invalid;
                byte decoded = (byte)(hi << 4 | lo);
                if (decoded == 0) return Invalid; // %00 is refused outright (Istio): a NUL truncates paths in C origins
                if (IsUnreserved(decoded))
                {
                    path[end++] = decoded;
                }
                else
                {
                    path[end] = (byte)'%';
                    path[end + 1] = UpperHex(hi);
                    path[end + 2] = UpperHex(lo);
                    end += 3;
                }
                r += 3;
            }
            bool last = r >= path.Length;
            int length = end - segment;
            if (length == 1 && path[segment] == (byte)'.')
            {
                if (last) w++; // "/a/." is "/a/"
            }
            else if (length == 2 && path[segment] == (byte)'.' && path[segment + 1] == (byte)'.')
            {
                // Back to the slash that starts the previous segment; at the root, ".." has nowhere to go and is dropped.
                w = w == 0 ? 0 : path[..w].LastIndexOf((byte)'/');
                if (last) path[w++] = (byte)'/'; // "/a/b/.." is "/a/"
            }
            else
            {
                w = end;
            }
        }
        return w;
    }

    /// <summary>How many input bytes the path separator at <paramref name="at"/> spans: 1 for / or \, 3 for an
    /// escaped one when those are decoded, 0 when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SeparatorLength(ReadOnlySpan<byte> path, int at, bool decodeSlashes)
    {
        byte b = path[at];
        if (b is (byte)'/' or (byte)'\\') return 1;
        if (!decodeSlashes || b != (byte)'%' || at + 2 >= path.Length) return 0;
        byte hi = path[at + 1], lo = (byte)(path[at + 2] | 0x20);
        return (hi == (byte)'2' && lo == (byte)'f') || (hi == (byte)'5' && lo == (byte)'c') ? 3 : 0;
    }

    /// <summary>RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~".</summary>
    private static bool IsUnreserved(byte b) =>
        (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private static int HexValue(byte b)
    {
        if ((uint)(b - '0') <= 9) return b - '0';
        int lower = b | 0x20;
        return (uint)(lower - 'a') <= 'f' - 'a' ? lower - 'a' + 10 : -1;
    }

    private static byte UpperHex(int nibble) => (byte)(nibble < 10 ? '0' + nibble : 'A' + nibble - 10);
}
