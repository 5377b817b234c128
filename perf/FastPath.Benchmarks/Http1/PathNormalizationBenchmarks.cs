// Path normalisation costs on the request path: an already-normal path (the common case: one vectorised scan) and a
// hostile one that takes every branch (escapes, dot segments, merged and escaped slashes). Category ZeroAlloc: the
// CI gate fails if normalising allocates.
using System.Text;
using BenchmarkDotNet.Attributes;
using FastPath.Http.Normalization;

namespace FastPath.Benchmarks.Http1;

[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
public class PathNormalizationBenchmarks
{
    private static readonly byte[] NormalPath = Encoding.ASCII.GetBytes("/products/catalog/items/4711/reviews");
    private static readonly byte[] HostilePath = Encoding.ASCII.GetBytes("/api/v1/../v2/%2e/users//%41bc%2fdef/./items/%7e%3a/..%5C/x");
    private readonly byte[] _scratch = new byte[256];

    [Benchmark]
    public int NormalPath_Base() => PathNormalizer.Normalize(NormalPath, PathNormalization.Base);

    [Benchmark]
    public int NormalPath_DecodeAndMergeSlashes() => PathNormalizer.Normalize(NormalPath, PathNormalization.DecodeAndMergeSlashes);

    /// <summary>Includes restoring the input (a ~60 B copy), since normalising rewrites it.</summary>
    [Benchmark]
    public int HostilePath_DecodeAndMergeSlashes()
    {
        HostilePath.CopyTo(_scratch, 0);
        return PathNormalizer.Normalize(_scratch.AsSpan(0, HostilePath.Length), PathNormalization.DecodeAndMergeSlashes);
    }
}
