// Bytes this thread allocates running some code, for the zero-allocation tests.
namespace FastPath.Core.Tests.Testing;

internal static class ThreadAllocations
{
    /// <summary>
    /// The fewest bytes of up to three runs of <paramref name="run"/> (stopping at a run that allocated nothing). The
    /// counter is not exact: a collection another thread starts resets this thread's allocation context, and the
    /// unused rest of it (up to ~8 KB) then shows as allocated. Code that really allocates does so in every run.
    /// </summary>
    public static long Fewest(Action run)
    {
        long least = long.MaxValue;
        for (int round = 0; round < 3 && least > 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
