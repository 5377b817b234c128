// /config_dump for authorization_policies, in the YAML's own field names (kept apart from AdminServer's dump of the
// HTTP model, which other areas extend).
using System.Text.Json;
using FastPath.Config;

namespace FastPath.Observability.Admin;

internal static class AuthorizationDump
{
    public static void Write(Utf8JsonWriter w, GatewayConfig config)
    {
        w.WriteNumber("num_trusted_proxies", config.NumTrustedProxies);
        w.WriteStartArray("authorization_policies");
        foreach (AuthorizationPolicyConfig p in config.AuthorizationPolicies)
        {
            w.WriteStartObject();
            w.WriteString("name", p.Name);
            w.WriteString("action", p.Action);
            if (p.Rules is { } rules)
            {
                w.WriteStartArray("rules");
                foreach (AuthorizationRuleConfig r in rules) WriteRule(w, r);
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteRule(Utf8JsonWriter w, AuthorizationRuleConfig r)
    {
        w.WriteStartObject();
        Entries(w, "from", "source", r.From, static (w, s) =>
        {
            Pair(w, "principals", s.Principals, s.NotPrincipals);
            Pair(w, "request_principals", s.RequestPrincipals, s.NotRequestPrincipals);
            Pair(w, "namespaces", s.Namespaces, s.NotNamespaces);
            Pair(w, "ip_blocks", s.IpBlocks, s.NotIpBlocks);
            Pair(w, "remote_ip_blocks", s.RemoteIpBlocks, s.NotRemoteIpBlocks);
        });
        Entries(w, "to", "operation", r.To, static (w, o) =>
        {
            Pair(w, "hosts", o.Hosts, o.NotHosts);
            Pair(w, "ports", o.Ports, o.NotPorts);
            Pair(w, "methods", o.Methods, o.NotMethods);
            Pair(w, "paths", o.Paths, o.NotPaths);
        });
        w.WriteStartArray("when");
        foreach (AuthorizationConditionConfig c in r.When)
        {
            w.WriteStartObject();
            w.WriteString("key", c.Key);
            Pair(w, "values", c.Values, c.NotValues);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>from/to: a list of objects that each hold one named object ({source: {...}}, {operation: {...}}).</summary>
    private static void Entries<T>(Utf8JsonWriter w, string list, string entry, IReadOnlyList<T> items, Action<Utf8JsonWriter, T> write)
    {
        w.WriteStartArray(list);
        foreach (T item in items)
        {
            w.WriteStartObject();
            w.WriteStartObject(entry);
            write(w, item);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>A field and its not_ form, each written only when set.</summary>
    private static void Pair(Utf8JsonWriter w, string name, IReadOnlyList<string> values, IReadOnlyList<string> notValues)
    {
        FilterChainDump.Strings(w, name, values);
        FilterChainDump.Strings(w, "not_" + name, notValues);
    }
}
