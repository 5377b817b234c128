// Istio AuthorizationPolicy (security.istio.io/v1) as the gateway reads it: workload-wide policies, snake_case
// fields. Immutable input records; Security/Authorization compiles them into the evaluator a snapshot carries.
namespace FastPath.Config;

public sealed record AuthorizationPolicyConfig
{
    public string Name { get; init; } = "";
    /// <summary>ALLOW (default), DENY or AUDIT, as written (validated later so the error names the field).</summary>
    public string Action { get; init; } = "ALLOW";
    /// <summary>Null when the field is absent: Istio's policy then matches nothing (an ALLOW one allows nothing).</summary>
    public IReadOnlyList<AuthorizationRuleConfig>? Rules { get; init; }
}

/// <summary>One rule: from, to and when are ANDed; the entries of from and of to are ORed.</summary>
public sealed record AuthorizationRuleConfig
{
    public IReadOnlyList<AuthorizationSourceConfig> From { get; init; } = [];
    public IReadOnlyList<AuthorizationOperationConfig> To { get; init; } = [];
    public IReadOnlyList<AuthorizationConditionConfig> When { get; init; } = [];
}

/// <summary>A from entry's source; every set field must match (values ORed, not_* excluded).</summary>
public sealed record AuthorizationSourceConfig
{
    public IReadOnlyList<string> Principals { get; init; } = [];
    public IReadOnlyList<string> NotPrincipals { get; init; } = [];
    public IReadOnlyList<string> RequestPrincipals { get; init; } = [];
    public IReadOnlyList<string> NotRequestPrincipals { get; init; } = [];
    public IReadOnlyList<string> Namespaces { get; init; } = [];
    public IReadOnlyList<string> NotNamespaces { get; init; } = [];
    public IReadOnlyList<string> IpBlocks { get; init; } = [];
    public IReadOnlyList<string> NotIpBlocks { get; init; } = [];
    public IReadOnlyList<string> RemoteIpBlocks { get; init; } = [];
    public IReadOnlyList<string> NotRemoteIpBlocks { get; init; } = [];
    /// <summary>False when the entry had no `source` (an error: Istio requires it).</summary>
    public bool Present { get; init; }
}

/// <summary>A to entry's operation.</summary>
public sealed record AuthorizationOperationConfig
{
    public IReadOnlyList<string> Hosts { get; init; } = [];
    public IReadOnlyList<string> NotHosts { get; init; } = [];
    public IReadOnlyList<string> Ports { get; init; } = [];
    public IReadOnlyList<string> NotPorts { get; init; } = [];
    public IReadOnlyList<string> Methods { get; init; } = [];
    public IReadOnlyList<string> NotMethods { get; init; } = [];
    public IReadOnlyList<string> Paths { get; init; } = [];
    public IReadOnlyList<string> NotPaths { get; init; } = [];
    /// <summary>False when the entry had no `operation` (an error: Istio requires it).</summary>
    public bool Present { get; init; }
}

/// <summary>A when condition: `key` is an Istio attribute (request.headers[x-token], source.ip, ...).</summary>
public sealed record AuthorizationConditionConfig
{
    public string Key { get; init; } = "";
    public IReadOnlyList<string> Values { get; init; } = [];
    public IReadOnlyList<string> NotValues { get; init; } = [];
}
