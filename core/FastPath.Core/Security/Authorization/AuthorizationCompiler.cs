// Compiles validated authorization_policies into an AuthorizationEngine: CIDRs to 128-bit masks, hosts lower-case,
// paths and principals to exact/prefix/suffix patterns, header names and claim paths resolved, ports to integers.
using System.Globalization;
using FastPath.Config;

namespace FastPath.Security.Authorization;

internal static class AuthorizationCompiler
{
    /// <summary>Null when the config has no policies: the request path then skips authorization entirely.</summary>
    public static AuthorizationEngine? Compile(GatewayConfig config)
    {
        if (config.AuthorizationPolicies.Count == 0) return null;
        var policies = new List<AuthorizationPolicy>(config.AuthorizationPolicies.Count);
        foreach (AuthorizationPolicyConfig p in config.AuthorizationPolicies)
        {
            AuthorizationRule[] rules = p.Rules is null ? [] : p.Rules.Select(CompileRule).ToArray();
            policies.Add(new AuthorizationPolicy(p.Name, ParseAction(p.Action), rules));
        }
        return new AuthorizationEngine(policies, config.NumTrustedProxies);
    }

    public static AuthorizationAction ParseAction(string action) => action switch
    {
        "DENY" => AuthorizationAction.Deny,
        "AUDIT" => AuthorizationAction.Audit,
        _ => AuthorizationAction.Allow,
    };

    private static AuthorizationRule CompileRule(AuthorizationRuleConfig r)
    {
        var when = new List<AuthorizationCondition>();
        foreach (AuthorizationConditionConfig c in r.When)
        {
            AuthorizationKeys.TryParse(c.Key, out AuthorizationAttribute attribute, out string header, out string[] claim, out _);
            when.Add(Condition(attribute, c.Values, c.NotValues, header, claim)!);
        }
        return new AuthorizationRule(r.From.Select(Source).ToArray(), r.To.Select(Operation).ToArray(), when.ToArray());
    }

    // Cheap integer checks first, then bytes of the request line, then strings and headers.
    private static AuthorizationCondition[] Source(AuthorizationSourceConfig s) => Present(
        Condition(AuthorizationAttribute.SourceIp, s.IpBlocks, s.NotIpBlocks),
        Condition(AuthorizationAttribute.RemoteIp, s.RemoteIpBlocks, s.NotRemoteIpBlocks),
        Condition(AuthorizationAttribute.SourcePrincipal, s.Principals, s.NotPrincipals),
        Condition(AuthorizationAttribute.SourceNamespace, s.Namespaces, s.NotNamespaces),
        Condition(AuthorizationAttribute.RequestPrincipal, s.RequestPrincipals, s.NotRequestPrincipals));

    private static AuthorizationCondition[] Operation(AuthorizationOperationConfig o) => Present(
        Condition(AuthorizationAttribute.DestinationPort, o.Ports, o.NotPorts),
        Condition(AuthorizationAttribute.Method, o.Methods, o.NotMethods),
        Condition(AuthorizationAttribute.Host, o.Hosts, o.NotHosts),
        Condition(AuthorizationAttribute.Path, o.Paths, o.NotPaths));

    private static AuthorizationCondition[] Present(params AuthorizationCondition?[] conditions) =>
        conditions.Where(c => c is not null).ToArray()!;

    /// <summary>Null when neither values nor not-values are set: the field is then not part of the rule (Istio).</summary>
    public static AuthorizationCondition? Condition(AuthorizationAttribute attribute, IReadOnlyList<string> values,
        IReadOnlyList<string> notValues, string header = "", string[]? claimPath = null)
    {
        if (values.Count == 0 && notValues.Count == 0) return null;
        switch (attribute)
        {
            case AuthorizationAttribute.SourceIp or AuthorizationAttribute.RemoteIp or AuthorizationAttribute.DestinationIp:
                return new AuthorizationCondition(attribute, [], [])
                {
                    Networks = values.Select(Network).ToArray(),
                    NotNetworks = notValues.Select(Network).ToArray(),
                };
            case AuthorizationAttribute.DestinationPort:
                return new AuthorizationCondition(attribute, [], [])
                {
                    Ports = values.Select(Port).ToArray(),
                    NotPorts = notValues.Select(Port).ToArray(),
                };
            case AuthorizationAttribute.RequestPrincipal:
                return new AuthorizationCondition(attribute, [], [])
                {
                    Principals = values.Select(RequestPrincipalPattern.Parse).ToArray(),
                    NotPrincipals = notValues.Select(RequestPrincipalPattern.Parse).ToArray(),
                };
            default:
                // Istio compares hosts case-insensitively and everything else (SNI included) exactly.
                bool ignoreCase = attribute is AuthorizationAttribute.Host;
                return new AuthorizationCondition(attribute,
                    values.Select(v => StringPattern.Parse(v, ignoreCase)).ToArray(),
                    notValues.Select(v => StringPattern.Parse(v, ignoreCase)).ToArray())
                {
                    HeaderName = System.Text.Encoding.ASCII.GetBytes(header),
                    ClaimPath = claimPath ?? [],
                };
        }
    }

    private static IpNetwork Network(string value)
    {
        IpNetwork.TryParse(value, out IpNetwork n);
        return n;
    }

    private static int Port(string value) => int.Parse(value, NumberStyles.None, CultureInfo.InvariantCulture);
}
