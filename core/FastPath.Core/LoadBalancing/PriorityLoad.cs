// Envoy's priority load (load_balancer_impl.cc, recalculatePerPriorityState): each priority level's health is its
// healthy share x the overprovisioning factor 1.4, capped at 100; levels take load in priority order up to their
// health, and whatever is left spills to the next. Below 100% total health the loads are scaled so they still sum
// to 100, and a level whose healthy share is under the panic threshold balances over all its endpoints.
namespace FastPath.LoadBalancing;

internal static class PriorityLoad
{
    /// <summary>Envoy's default overprovisioning_factor (140 = 1.4): a level 72%+ healthy still takes all its load.</summary>
    public const int OverprovisioningFactor = 140;
    public const int DefaultPanicThreshold = 50;

    /// <summary>
    /// Fills <paramref name="loads"/> (percent per level, summing to 100) and <paramref name="panic"/> from each level's
    /// healthy and total endpoint counts. Integer percentages, as Envoy computes them, so results match its docs.
    /// </summary>
    public static void Compute(ReadOnlySpan<int> healthy, ReadOnlySpan<int> total, int panicThreshold, Span<int> loads, Span<bool> panic)
    {
        int levels = healthy.Length;
        Span<int> health = levels <= 64 ? stackalloc int[levels] : new int[levels];
        Span<int> healthyPercent = levels <= 64 ? stackalloc int[levels] : new int[levels];
        int sum = 0;
        for (int i = 0; i < levels; i++)
        {
            healthyPercent[i] = total[i] == 0 ? 0 : (int)(100L * healthy[i] / total[i]);
            health[i] = Math.Min(100, healthyPercent[i] * OverprovisioningFactor / 100);
            sum += health[i];
        }
        int normalizedTotal = Math.Min(100, sum);
        loads.Clear();
        if (normalizedTotal == 0)
        {
            // Nothing healthy anywhere: all load to the first level, in panic unless panic mode is off (Envoy).
            loads[0] = 100;
            for (int i = 0; i < levels; i++) panic[i] = panicThreshold > 0 && healthyPercent[i] < panicThreshold;
            return;
        }
        int remaining = 100;
        int firstHealthy = -1;
        for (int i = 0; i < levels; i++)
        {
            loads[i] = Math.Min(remaining, health[i] * 100 / normalizedTotal);
            remaining -= loads[i];
            if (firstHealthy < 0 && health[i] > 0) firstHealthy = i;
        }
        // Integer rounding leaves a percent or two over: Envoy gives it to the first level with health.
        loads[firstHealthy] += remaining;
        // With 100% total health the lower levels cover what a higher one lacks, so nothing panics.
        for (int i = 0; i < levels; i++) panic[i] = normalizedTotal < 100 && panicThreshold > 0 && healthyPercent[i] < panicThreshold;
    }
}

/// <summary>Envoy's slow_start_config, in balancer terms (LoadBalancing does not read config records).</summary>
internal sealed record SlowStartSettings(TimeSpan Window, double Aggression, double MinWeightFraction)
{
    /// <summary>
    /// The share of its weight an endpoint gets <paramref name="elapsed"/> after it became available:
    /// max(min, (t / window)^(1 / aggression)), 1 once the window is over.
    /// </summary>
    public double Factor(TimeSpan elapsed)
    {
        if (elapsed >= Window) return 1;
        double t = Math.Max(0, elapsed.TotalSeconds / Window.TotalSeconds);
        double f = Aggression == 1 ? t : Math.Pow(t, 1 / Aggression);
        return Math.Max(MinWeightFraction, f);
    }
}
