// One compiled AuthorizationPolicy: its action, its rules for HTTP and as Istio applies them to TCP, and the stats
// handles and access-log detail resolved at config load.
using System.Text;
using FastPath.Observability.Stats;

namespace FastPath.Security.Authorization;

internal enum AuthorizationAction : byte
{
    Allow,
    Deny,
    Audit,
}

internal sealed class AuthorizationPolicy
{
    public AuthorizationPolicy(string name, AuthorizationAction action, AuthorizationRule[] rules)
    {
        Name = name;
        Action = action;
        HttpRules = rules;
        var tcp = new List<AuthorizationRule>(rules.Length);
        foreach (AuthorizationRule r in rules) if (r.ForTcp(action) is { } t) tcp.Add(t);
        TcpRules = tcp.ToArray();
        DeniedDetails = Details(name);
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        Http = AuthorizationMetrics.For(name, "http");
        Tcp = AuthorizationMetrics.For(name, "tcp");
    }

    public string Name { get; }
    public byte[] NameUtf8 { get; }
    public AuthorizationAction Action { get; }
    /// <summary>Empty when the policy had no rules: it matches nothing (Istio).</summary>
    public AuthorizationRule[] HttpRules { get; }
    public AuthorizationRule[] TcpRules { get; }
    /// <summary>Envoy's response_code_details for a request this policy denies.</summary>
    public byte[] DeniedDetails { get; }
    public AuthorizationPolicyStats Http { get; }
    public AuthorizationPolicyStats Tcp { get; }

    public bool Matches(ref AuthorizationContext ctx)
    {
        AuthorizationRule[] rules = ctx.IsTcp ? TcpRules : HttpRules;
        foreach (AuthorizationRule r in rules) if (r.Matches(ref ctx)) return true;
        return false;
    }

    public AuthorizationPolicyStats Stats(bool tcp) => tcp ? Tcp : Http;

    public static byte[] Details(string policy) => Encoding.UTF8.GetBytes($"rbac_access_denied_matched_policy[{policy}]");
}
