// Semantic checks of authorization_policies, every error at once with its field path: names, actions (CUSTOM is not
// supported), Istio's required source/operation and values, CIDRs, ports, methods, wildcard forms and when keys.
using System.Globalization;
using FastPath.Security.Authorization;

namespace FastPath.Config;

public static class AuthorizationConfigValidator
{
    public static void Validate(GatewayConfig config, Action<string, string> error)
    {
        if (config.NumTrustedProxies is < 0 or > 64) error("num_trusted_proxies", "must be 0-64");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < config.AuthorizationPolicies.Count; i++)
        {
            AuthorizationPolicyConfig policy = config.AuthorizationPolicies[i];
            string p = $"authorization_policies[{i}]";
            if (string.IsNullOrWhiteSpace(policy.Name)) error($"{p}.name", "a policy needs a name");
            else if (!names.Add(policy.Name)) error($"{p}.name", $"duplicate policy name '{policy.Name}'");
            else if (policy.Name.Any(ch => ch is < ' ' or > '~' or '"' or '\\' or '[' or ']'))
                error($"{p}.name", "a policy name is printable ASCII without quotes, backslashes or brackets");
            if (policy.Action == "CUSTOM")
                error($"{p}.action", "CUSTOM (external authorization) is not supported; use ALLOW, DENY or AUDIT");
            else if (policy.Action is not ("ALLOW" or "DENY" or "AUDIT"))
                error($"{p}.action", $"unknown action '{policy.Action}' (expected ALLOW, DENY or AUDIT)");
            if (policy.Rules is null) continue;
            for (int j = 0; j < policy.Rules.Count; j++) ValidateRule(policy.Rules[j], $"{p}.rules[{j}]", error);
        }
    }

    private static void ValidateRule(AuthorizationRuleConfig rule, string path, Action<string, string> error)
    {
        for (int i = 0; i < rule.From.Count; i++)
        {
            AuthorizationSourceConfig s = rule.From[i];
            string p = $"{path}.from[{i}].source";
            if (!s.Present)
            {
                error($"{path}.from[{i}]", "a from entry needs a source");
                continue;
            }
            bool any = false;
            any |= Patterns(s.Principals, $"{p}.principals", error);
            any |= Patterns(s.NotPrincipals, $"{p}.not_principals", error);
            any |= Patterns(s.RequestPrincipals, $"{p}.request_principals", error);
            any |= Patterns(s.NotRequestPrincipals, $"{p}.not_request_principals", error);
            any |= Patterns(s.Namespaces, $"{p}.namespaces", error);
            any |= Patterns(s.NotNamespaces, $"{p}.not_namespaces", error);
            any |= Cidrs(s.IpBlocks, $"{p}.ip_blocks", error);
            any |= Cidrs(s.NotIpBlocks, $"{p}.not_ip_blocks", error);
            any |= Cidrs(s.RemoteIpBlocks, $"{p}.remote_ip_blocks", error);
            any |= Cidrs(s.NotRemoteIpBlocks, $"{p}.not_remote_ip_blocks", error);
            if (!any) error(p, "a source must set at least one field (Istio: from.source must not be empty)");
        }
        for (int i = 0; i < rule.To.Count; i++)
        {
            AuthorizationOperationConfig o = rule.To[i];
            string p = $"{path}.to[{i}].operation";
            if (!o.Present)
            {
                error($"{path}.to[{i}]", "a to entry needs an operation");
                continue;
            }
            bool any = false;
            any |= Patterns(o.Hosts, $"{p}.hosts", error);
            any |= Patterns(o.NotHosts, $"{p}.not_hosts", error);
            any |= Ports(o.Ports, $"{p}.ports", error);
            any |= Ports(o.NotPorts, $"{p}.not_ports", error);
            any |= Methods(o.Methods, $"{p}.methods", error);
            any |= Methods(o.NotMethods, $"{p}.not_methods", error);
            any |= Paths(o.Paths, $"{p}.paths", error);
            any |= Paths(o.NotPaths, $"{p}.not_paths", error);
            if (!any) error(p, "an operation must set at least one field (Istio: to.operation must not be empty)");
        }
        for (int i = 0; i < rule.When.Count; i++)
        {
            AuthorizationConditionConfig c = rule.When[i];
            string p = $"{path}.when[{i}]";
            if (!AuthorizationKeys.TryParse(c.Key, out AuthorizationAttribute attribute, out _, out _, out string message))
            {
                error($"{p}.key", c.Key.Length == 0 ? "a condition needs a key" : message);
                continue;
            }
            if (c.Values.Count == 0 && c.NotValues.Count == 0) error(p, "a condition needs values or not_values");
            ConditionValues(attribute, c.Values, $"{p}.values", error);
            ConditionValues(attribute, c.NotValues, $"{p}.not_values", error);
        }
    }

    private static void ConditionValues(AuthorizationAttribute attribute, IReadOnlyList<string> values, string path, Action<string, string> error)
    {
        switch (attribute)
        {
            case AuthorizationAttribute.SourceIp or AuthorizationAttribute.RemoteIp or AuthorizationAttribute.DestinationIp:
                Cidrs(values, path, error);
                break;
            case AuthorizationAttribute.DestinationPort:
                Ports(values, path, error, min: 0);
                break;
            default:
                Patterns(values, path, error);
                break;
        }
    }

    /// <summary>Each value exact, "prefix*", "*suffix" or "*". True when the list has values.</summary>
    private static bool Patterns(IReadOnlyList<string> values, string path, Action<string, string> error)
    {
        for (int i = 0; i < values.Count; i++)
            if (!StringPattern.IsValid(values[i]))
                error($"{path}[{i}]", $"invalid value '{values[i]}': empty, or a '*' that is not a whole value, a prefix or a suffix");
        return values.Count > 0;
    }

    private static bool Cidrs(IReadOnlyList<string> values, string path, Action<string, string> error)
    {
        for (int i = 0; i < values.Count; i++)
            if (!IpNetwork.TryParse(values[i], out _))
                error($"{path}[{i}]", $"invalid IP address or CIDR block '{values[i]}' (e.g. 10.0.0.0/8, 192.168.1.7, 2001:db8::/32)");
        return values.Count > 0;
    }

    private static bool Ports(IReadOnlyList<string> values, string path, Action<string, string> error, int min = 1)
    {
        for (int i = 0; i < values.Count; i++)
            if (!int.TryParse(values[i], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < min || port > 65535)
                error($"{path}[{i}]", $"invalid port '{values[i]}' (expected {min}-65535)");
        return values.Count > 0;
    }

    private static bool Methods(IReadOnlyList<string> values, string path, Action<string, string> error)
    {
        for (int i = 0; i < values.Count; i++)
            if (!GatewayConfigValidator.IsToken(values[i]))
                error($"{path}[{i}]", $"invalid method '{values[i]}' (an HTTP method token such as GET)");
        return values.Count > 0;
    }

    private static bool Paths(IReadOnlyList<string> values, string path, Action<string, string> error)
    {
        for (int i = 0; i < values.Count; i++)
        {
            string v = values[i];
            if (v.Contains('{') || v.Contains('}'))
                error($"{path}[{i}]", $"path templates ({{*}}, {{**}}) are not supported: '{v}'");
            else if (!StringPattern.IsValid(v) || (v[0] != '/' && v[0] != '*'))
                error($"{path}[{i}]", $"invalid path '{v}' (exact '/a/b', prefix '/a/*', suffix '*/b' or '*')");
        }
        return values.Count > 0;
    }
}
