// Runs one codec case over every input a Segmentation stands for and reports the first mismatch. Splitting a 60 KiB
// limit case at every index is tens of thousands of parses, so splits run in parallel, each worker with its own state.
using System.Collections.Concurrent;

namespace FastPath.Core.Tests.Testing;

internal static class CaseRunner
{
    /// <summary>Theory rows: every named case crossed with every way of segmenting its input.</summary>
    public static TheoryData<string, Segmentation> EveryWay(IEnumerable<string> names)
    {
        var data = new TheoryData<string, Segmentation>();
        foreach (string name in names)
            foreach (Segmentation mode in Enum.GetValues<Segmentation>())
                data.Add(name, mode);
        return data;
    }

    /// <summary>
    /// Calls <paramref name="check"/> for each input of <paramref name="mode"/> with a per-worker state from
    /// <paramref name="newState"/>; returns the message of the failing input that comes first, or null.
    /// </summary>
    public static string? FirstMismatch<TState>(byte[] data, Segmentation mode, Func<TState> newState,
        Func<SegmentedInput, TState, string?> check)
    {
        if (mode != Segmentation.SplitAtEveryIndex)
        {
            TState state = newState();
            foreach (SegmentedInput input in SequenceFactory.Inputs(data, mode))
                if (check(input, state) is { } message) return message;
            return null;
        }

        var failures = new ConcurrentDictionary<int, string>();
        Parallel.For(1, data.Length, newState, (index, loop, state) =>
        {
            if (check(SegmentedInput.Create(data, [index]), state) is { } message)
            {
                failures[index] = message;
                loop.Break(); // indices below this one still run, so the smallest failing split is reported
            }
            return state;
        }, _ => { });
        return failures.IsEmpty ? null : failures[failures.Keys.Min()];
    }
}
