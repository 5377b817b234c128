// A downstream connection's addresses as authorization reads them (source.ip, destination.ip, destination.port),
// converted once per connection.
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace FastPath.Security.Authorization;

internal readonly struct ConnectionAddresses
{
    public UInt128 Source { get; init; }
    public UInt128 Destination { get; init; }
    public int DestinationPort { get; init; }

    public static ConnectionAddresses From(ConnectionContext context) => new()
    {
        Source = IpNetwork.ToBits((context.RemoteEndPoint as IPEndPoint)?.Address),
        Destination = IpNetwork.ToBits((context.LocalEndPoint as IPEndPoint)?.Address),
        DestinationPort = (context.LocalEndPoint as IPEndPoint)?.Port ?? 0,
    };
}
