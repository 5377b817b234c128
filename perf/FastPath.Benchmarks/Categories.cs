// Benchmark categories; ZeroAlloc benchmarks are a CI gate (0 B allocated per operation).
namespace FastPath.Benchmarks;

public static class Categories
{
    public const string ZeroAlloc = "ZeroAlloc";
}
