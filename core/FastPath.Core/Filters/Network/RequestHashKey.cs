// The consistent-hash key of a request (Envoy's hash_policy): a header, a cookie, a query parameter or the client
// address, hashed with xxHash64 over the raw bytes. No key found: the balancer picks at random, as Envoy does.
using System.Text;
using FastPath.Config;
using FastPath.Http;
using FastPath.LoadBalancing;
using FastPath.Upstream.Clusters;

namespace FastPath.Filters.Network;

internal static class RequestHashKey
{
    public static bool TryCompute(Cluster cluster, HttpRequestHead request, ReadOnlySpan<byte> clientAddress, out ulong key)
    {
        key = 0;
        ReadOnlySpan<byte> value;
        switch (cluster.HashKind)
        {
            case HashPolicyKind.Header:
                if (!TryHeader(request.Headers, cluster.HashName, out value)) return false;
                break;
            case HashPolicyKind.Cookie:
                if (!TryCookie(request.Headers, cluster.HashName, out value)) return false;
                break;
            case HashPolicyKind.QueryParameter:
                if (!TryQueryParameter(request.Path, cluster.HashName, out value)) return false;
                break;
            case HashPolicyKind.SourceIp:
                value = clientAddress;
                break;
            default:
                return false;
        }
        key = XxHash64.Hash(value);
        return true;
    }

    internal static bool TryHeader(HttpHeaderBlock headers, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            if (e.NameLength == name.Length && Ascii.EqualsIgnoreCase(headers.Name(e), name))
            {
                value = headers.Value(e);
                return true;
            }
        }
        value = default;
        return false;
    }

    // Cookie: a=1; b=2 (RFC 6265 §4.2.1); several Cookie fields are searched in order.
    internal static bool TryCookie(HttpHeaderBlock headers, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        for (int i = 0; i < headers.Count; i++)
        {
            ref HeaderEntry e = ref headers[i];
            if (e.NameLength != 6 || !Ascii.EqualsIgnoreCase(headers.Name(e), "cookie"u8)) continue;
            if (TryPair(headers.Value(e), (byte)';', name, trim: true, out value)) return true;
        }
        value = default;
        return false;
    }

    internal static bool TryQueryParameter(ReadOnlySpan<byte> target, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int q = target.IndexOf((byte)'?');
        if (q >= 0 && TryPair(target[(q + 1)..], (byte)'&', name, trim: false, out value)) return true;
        value = default;
        return false;
    }

    private static bool TryPair(ReadOnlySpan<byte> list, byte separator, ReadOnlySpan<byte> name, bool trim, out ReadOnlySpan<byte> value)
    {
        while (!list.IsEmpty)
        {
            int end = list.IndexOf(separator);
            ReadOnlySpan<byte> item = end < 0 ? list : list[..end];
            list = end < 0 ? default : list[(end + 1)..];
            if (trim) item = HttpChars.TrimOws(item);
            int eq = item.IndexOf((byte)'=');
            ReadOnlySpan<byte> key = eq < 0 ? item : item[..eq];
            if (key.SequenceEqual(name))
            {
                value = eq < 0 ? default : item[(eq + 1)..];
                return true;
            }
        }
        value = default;
        return false;
    }
}
