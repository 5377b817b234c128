// Compiled header operations (Istio Headers.HeaderOperations): remove, then set (replace), then add (append), all on
// the header store without allocating. Lives beside the header model, not in the filters, so a routing type (a
// weighted destination's per-destination headers) can hold one without depending on the filter layer.
using System.Text;

namespace FastPath.Http;

/// <remarks>
/// Per-destination headers (Istio: headers on a weighted destination) attach one of these for each direction to the
/// destination, compiled with HeaderOperationsConfig.Compile from the config read by
/// GatewayConfigLoader's ReadHeaderOperations and checked by HttpFilterConfigValidator.ValidateHeaders. The connection
/// manager applies the request one to request.Headers after the destination is picked, and the response one to
/// response.Headers just before the response head is written (next to the filters' EncodeHeaders).
/// </remarks>
internal sealed class HeaderMutation
{
    private readonly byte[][] _remove;
    private readonly (byte[] Name, byte[] Value)[] _set;
    private readonly (byte[] Name, byte[] Value)[] _add;

    public HeaderMutation(IEnumerable<string> remove, IEnumerable<KeyValuePair<string, string>> set, IEnumerable<KeyValuePair<string, string>> add)
    {
        // Names go out lowercase, as HTTP/2 requires and HTTP/1.1 does not mind.
        _remove = remove.Select(n => Encoding.ASCII.GetBytes(n.ToLowerInvariant())).ToArray();
        _set = set.Select(p => (Encoding.ASCII.GetBytes(p.Key.ToLowerInvariant()), Encoding.UTF8.GetBytes(p.Value))).ToArray();
        _add = add.Select(p => (Encoding.ASCII.GetBytes(p.Key.ToLowerInvariant()), Encoding.UTF8.GetBytes(p.Value))).ToArray();
    }

    public bool IsEmpty => _remove.Length == 0 && _set.Length == 0 && _add.Length == 0;

    public void Apply(HttpHeaderBlock headers)
    {
        foreach (byte[] name in _remove) headers.Remove(name);
        foreach ((byte[] name, byte[] value) in _set) headers.Set(name, value);
        foreach ((byte[] name, byte[] value) in _add) headers.Append(name, value);
    }
}
