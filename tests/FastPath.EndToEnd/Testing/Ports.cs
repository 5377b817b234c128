// Free loopback ports for processes that must be told their port up front (the gateway's listeners).
using System.Net;
using System.Net.Sockets;

namespace FastPath.EndToEnd.Testing;

public static class Ports
{
    /// <summary>Binds 127.0.0.1:0, reads the port the kernel chose and releases it.</summary>
    public static int GetFree()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// A port with nothing listening on it: connects to it are refused. Taken below the kernel's ephemeral range
    /// (net.ipv4.ip_local_port_range starts at 32768): a closed port inside it can come back as the source port of
    /// an outgoing connection, and a connect from 127.0.0.1:P to 127.0.0.1:P then succeeds (TCP self-connect), or a
    /// test's listener on port 0 may get it; either turns "refused" into a stray 502.
    /// </summary>
    public static int GetClosed()
    {
        for (int attempt = 0; attempt < 100; attempt++)
        {
            int port = Random.Shared.Next(20_000, 32_000);
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                return port; // free now, and nothing in the tests binds a fixed port in this range
            }
            catch (SocketException)
            {
                // In use: try another.
            }
        }
        throw new InvalidOperationException("no free port below the ephemeral range");
    }

    /// <summary>Whether a TCP connect to the port is refused (nothing listening).</summary>
    public static async Task<bool> IsRefusedAsync(int port, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false; // neither accepted nor refused in time (a full backlog)
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // Caught in the listen backlog as the listener closed: not served, but not yet a settled "refused".
            return false;
        }
    }
}
