// Reads authorization_policies (Istio AuthorizationPolicy in the gateway's snake_case): name, action, rules with
// from.source, to.operation and when conditions. Semantics are checked by AuthorizationConfigValidator.
using YamlDotNet.RepresentationModel;

namespace FastPath.Config;

public static partial class GatewayConfigLoader
{
    private sealed partial class Reader
    {
        private AuthorizationPolicyConfig ReadAuthorizationPolicy(YamlNode node, string path)
        {
            var policy = new AuthorizationPolicyConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "name", "action", "rules"))
            {
                string p = $"{path}.{key}";
                policy = key switch
                {
                    "name" => policy with { Name = Scalar(value, p) ?? "" },
                    "action" => policy with { Action = Scalar(value, p) ?? "" },
                    _ => policy with { Rules = List(value, p, ReadAuthorizationRule) },
                };
            }
            return policy;
        }

        private AuthorizationRuleConfig ReadAuthorizationRule(YamlNode node, string path)
        {
            var rule = new AuthorizationRuleConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "from", "to", "when"))
            {
                string p = $"{path}.{key}";
                rule = key switch
                {
                    "from" => rule with { From = List(value, p, ReadAuthorizationFrom) },
                    "to" => rule with { To = List(value, p, ReadAuthorizationTo) },
                    _ => rule with { When = List(value, p, ReadAuthorizationCondition) },
                };
            }
            return rule;
        }

        private AuthorizationSourceConfig ReadAuthorizationFrom(YamlNode node, string path)
        {
            var source = new AuthorizationSourceConfig();
            foreach ((string _, YamlNode value) in Fields(node, path, "source"))
            {
                string p = $"{path}.source";
                source = new AuthorizationSourceConfig { Present = true };
                foreach ((string key, YamlNode v) in Fields(value, p, "principals", "not_principals", "request_principals",
                             "not_request_principals", "namespaces", "not_namespaces", "ip_blocks", "not_ip_blocks",
                             "remote_ip_blocks", "not_remote_ip_blocks"))
                {
                    IReadOnlyList<string> list = Strings(v, $"{p}.{key}");
                    source = key switch
                    {
                        "principals" => source with { Principals = list },
                        "not_principals" => source with { NotPrincipals = list },
                        "request_principals" => source with { RequestPrincipals = list },
                        "not_request_principals" => source with { NotRequestPrincipals = list },
                        "namespaces" => source with { Namespaces = list },
                        "not_namespaces" => source with { NotNamespaces = list },
                        "ip_blocks" => source with { IpBlocks = list },
                        "not_ip_blocks" => source with { NotIpBlocks = list },
                        "remote_ip_blocks" => source with { RemoteIpBlocks = list },
                        _ => source with { NotRemoteIpBlocks = list },
                    };
                }
            }
            return source;
        }

        private AuthorizationOperationConfig ReadAuthorizationTo(YamlNode node, string path)
        {
            var operation = new AuthorizationOperationConfig();
            foreach ((string _, YamlNode value) in Fields(node, path, "operation"))
            {
                string p = $"{path}.operation";
                operation = new AuthorizationOperationConfig { Present = true };
                foreach ((string key, YamlNode v) in Fields(value, p, "hosts", "not_hosts", "ports", "not_ports",
                             "methods", "not_methods", "paths", "not_paths"))
                {
                    IReadOnlyList<string> list = Strings(v, $"{p}.{key}");
                    operation = key switch
                    {
                        "hosts" => operation with { Hosts = list },
                        "not_hosts" => operation with { NotHosts = list },
                        "ports" => operation with { Ports = list },
                        "not_ports" => operation with { NotPorts = list },
                        "methods" => operation with { Methods = list },
                        "not_methods" => operation with { NotMethods = list },
                        "paths" => operation with { Paths = list },
                        _ => operation with { NotPaths = list },
                    };
                }
            }
            return operation;
        }

        private AuthorizationConditionConfig ReadAuthorizationCondition(YamlNode node, string path)
        {
            var condition = new AuthorizationConditionConfig();
            foreach ((string key, YamlNode value) in Fields(node, path, "key", "values", "not_values"))
            {
                string p = $"{path}.{key}";
                condition = key switch
                {
                    "key" => condition with { Key = Scalar(value, p) ?? "" },
                    "values" => condition with { Values = Strings(value, p) },
                    _ => condition with { NotValues = Strings(value, p) },
                };
            }
            return condition;
        }

        private IReadOnlyList<string> Strings(YamlNode node, string path) => List(node, path, (n, q) => Scalar(n, q) ?? "");
    }
}
