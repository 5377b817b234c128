// How much of a request path is normalised before routing and authorization: Istio's meshConfig.pathNormalization.
namespace FastPath.Http.Normalization;

public enum PathNormalization : byte
{
    /// <summary>Nothing: the path is matched and forwarded exactly as received (exposed to CVE-2021-31920).</summary>
    None = 0,
    /// <summary>
    /// RFC 3986 normalisation as Envoy's normalize_path: %XX of unreserved characters decoded, other %xx
    /// upper-cased, backslash read as slash, dot segments removed. Istio's default.
    /// </summary>
    Base,
    /// <summary>Base, then runs of slashes merged into one (Envoy merge_slashes).</summary>
    MergeSlashes,
    /// <summary>
    /// %2F and %5C decoded to / and \ first (Envoy path_with_escaped_slashes_action UNESCAPE_AND_FORWARD), then
    /// MergeSlashes.
    /// </summary>
    DecodeAndMergeSlashes,
}
