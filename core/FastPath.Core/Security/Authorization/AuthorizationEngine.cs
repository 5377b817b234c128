// The workload's AuthorizationPolicies, compiled once per config snapshot and evaluated synchronously, without
// allocating, in Istio's order: any matching DENY policy denies; otherwise, when ALLOW policies exist, one must
// match; with none, the request is allowed. AUDIT policies only mark what they match (metric, access log).
// CUSTOM (external authorization) is rejected by config validation.
using FastPath.Observability.Stats;

namespace FastPath.Security.Authorization;

/// <summary>One decision: allowed or not, the policy that decided (null: no policy matched), the first audit match.</summary>
internal readonly struct AuthorizationDecision
{
    public bool Allowed { get; init; }
    /// <summary>The DENY policy that matched, or the ALLOW policy that allowed; null for the implicit outcomes.</summary>
    public AuthorizationPolicy? Policy { get; init; }
    public AuthorizationPolicy? Audited { get; init; }
    /// <summary>Envoy's response_code_details for a denial: rbac_access_denied_matched_policy[name|none].</summary>
    public ReadOnlySpan<byte> DeniedDetails => Allowed ? default : Policy is null ? AuthorizationEngine.NoPolicyDetails : Policy.DeniedDetails;
}

internal sealed class AuthorizationEngine
{
    private static readonly byte[] s_noPolicyDetails = AuthorizationPolicy.Details("none");
    private static readonly AuthorizationPolicyStats s_noPolicyHttp = AuthorizationMetrics.For("none", "http");
    private static readonly AuthorizationPolicyStats s_noPolicyTcp = AuthorizationMetrics.For("none", "tcp");

    private readonly AuthorizationPolicy[] _deny;
    private readonly AuthorizationPolicy[] _allow;
    private readonly AuthorizationPolicy[] _audit;

    public AuthorizationEngine(IReadOnlyList<AuthorizationPolicy> policies, int numTrustedProxies)
    {
        var deny = new List<AuthorizationPolicy>();
        var allow = new List<AuthorizationPolicy>();
        var audit = new List<AuthorizationPolicy>();
        foreach (AuthorizationPolicy p in policies)
        {
            (p.Action switch { AuthorizationAction.Deny => deny, AuthorizationAction.Audit => audit, _ => allow }).Add(p);
        }
        _deny = deny.ToArray();
        _allow = allow.ToArray();
        _audit = audit.ToArray();
        Policies = policies;
        NumTrustedProxies = numTrustedProxies;
    }

    internal static ReadOnlySpan<byte> NoPolicyDetails => s_noPolicyDetails;

    public IReadOnlyList<AuthorizationPolicy> Policies { get; }
    public int NumTrustedProxies { get; }

    public AuthorizationDecision Evaluate(ref AuthorizationContext ctx)
    {
        ctx.NumTrustedProxies = NumTrustedProxies;
        bool tcp = ctx.IsTcp;
        AuthorizationPolicy? audited = null;
        foreach (AuthorizationPolicy p in _audit)
        {
            if (!p.Matches(ref ctx)) continue;
            p.Stats(tcp).CountAudited();
            audited ??= p;
        }
        foreach (AuthorizationPolicy p in _deny)
        {
            if (!p.Matches(ref ctx)) continue;
            p.Stats(tcp).CountDenied();
            return new AuthorizationDecision { Allowed = false, Policy = p, Audited = audited };
        }
        if (_allow.Length == 0) return new AuthorizationDecision { Allowed = true, Audited = audited };
        foreach (AuthorizationPolicy p in _allow)
        {
            if (!p.Matches(ref ctx)) continue;
            p.Stats(tcp).CountAllowed();
            return new AuthorizationDecision { Allowed = true, Policy = p, Audited = audited };
        }
        (tcp ? s_noPolicyTcp : s_noPolicyHttp).CountDenied();
        return new AuthorizationDecision { Allowed = false, Audited = audited };
    }
}
