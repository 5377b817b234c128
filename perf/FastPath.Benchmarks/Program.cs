// BenchmarkDotNet entry point.
//   dotnet run -c Release --project perf/FastPath.Benchmarks -- --filter '*'      full runs, any BenchmarkDotNet flags
//   dotnet run -c Release --project perf/FastPath.Benchmarks -- --gate            CI gate: short runs of every
//       ZeroAlloc benchmark; exits 1 if any allocates. Allocation is deterministic, so short runs suffice; the
//       times printed are indicative only.
using System.Reflection;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Diagnosers;
using FastPath.Benchmarks;

if (args.Length > 0 && args[0] == "--gate")
{
    IConfig config = DefaultConfig.Instance
        // Enough warm-up (~0.5 s) for tiered compilation to reach tier 1: shorter, and the times are tier-0 times.
        .AddJob(Job.Default.WithWarmupCount(8).WithIterationCount(5).WithLaunchCount(1).WithInvocationCount(65536).WithUnrollFactor(16))
        .AddDiagnoser(MemoryDiagnoser.Default)
        .AddFilter(new BenchmarkDotNet.Filters.AllCategoriesFilter([Categories.ZeroAlloc]))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
    Summary[] summaries = BenchmarkRunner.Run(Assembly.GetExecutingAssembly(), config);
    int failures = 0, checkedCount = 0;
    foreach (Summary summary in summaries)
    {
        foreach (BenchmarkReport report in summary.Reports)
        {
            string name = $"{report.BenchmarkCase.Descriptor.Type.Name}.{report.BenchmarkCase.Descriptor.WorkloadMethod.Name}";
            if (!report.Success || report.ResultStatistics is null)
            {
                Console.WriteLine($"GATE FAILED: {name} did not run");
                failures++;
                continue;
            }
            checkedCount++;
            long bytes = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? -1;
            double ns = report.ResultStatistics.Median;
            Console.WriteLine($"{name}: {ns:F1} ns/op, {bytes} B/op");
            if (bytes != 0)
            {
                Console.WriteLine($"GATE FAILED: {name} allocates {bytes} B/op (must be 0)");
                failures++;
            }
        }
    }
    if (checkedCount == 0)
    {
        Console.WriteLine("GATE FAILED: no ZeroAlloc benchmark ran");
        return 1;
    }
    Console.WriteLine(failures == 0 ? $"GATE OK: {checkedCount} zero-allocation benchmarks at 0 B/op" : $"GATE FAILED: {failures} benchmark(s)");
    return failures == 0 ? 0 : 1;
}

BenchmarkSwitcher.FromAssembly(Assembly.GetExecutingAssembly()).Run(args);
return 0;
