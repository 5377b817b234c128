// A listener: where it binds and what it serves.
namespace FastPath.Config;

public sealed record ListenerConfig
{
    public string Name { get; init; } = "";
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; }
    public IReadOnlyList<VirtualHostConfig> VirtualHosts { get; init; } = [];
}
