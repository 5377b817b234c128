// The x-forwarded-for value a request is forwarded with, the same for either next-hop codec: every x-forwarded-for
// field it arrived with, in order (several fields read as one list, RFC 9110 section 5.3), then the address this
// proxy saw, each separated by ", ". Envoy appends the same way.
namespace FastPath.Http;

internal static class ForwardedFor
{
    private static ReadOnlySpan<byte> Separator => ", "u8;

    /// <summary>The value's length in bytes.</summary>
    public static int Length(HttpHeaderBlock fields, ReadOnlySpan<byte> clientAddress)
    {
        int length = clientAddress.Length;
        for (int i = 0; i < fields.Count; i++)
        {
            ref HeaderEntry e = ref fields[i];
            if (e.Id == KnownHeader.XForwardedFor) length += e.ValueLength + Separator.Length;
        }
        return length;
    }

    /// <summary>Writes the value (<see cref="Length"/> bytes) to the start of <paramref name="destination"/>.</summary>
    public static int Write(HttpHeaderBlock fields, ReadOnlySpan<byte> clientAddress, Span<byte> destination)
    {
        int at = 0;
        for (int i = 0; i < fields.Count; i++)
        {
            ref HeaderEntry e = ref fields[i];
            if (e.Id != KnownHeader.XForwardedFor) continue;
            ReadOnlySpan<byte> earlier = fields.Value(e);
            earlier.CopyTo(destination[at..]);
            at += earlier.Length;
            Separator.CopyTo(destination[at..]);
            at += Separator.Length;
        }
        clientAddress.CopyTo(destination[at..]);
        return at + clientAddress.Length;
    }
}
