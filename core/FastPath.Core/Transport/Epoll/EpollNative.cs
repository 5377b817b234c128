// The few libc calls the epoll transport makes itself (Linux, x86-64 layout of epoll_event). Its sockets are raw
// descriptors (SocketFd), driven without .NET's socket engine; a System.Net.Sockets.Socket is wrapped around one only
// when something asks for it (IConnectionSocketFeature).
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace FastPath.Transport.Epoll;

internal static partial class EpollNative
{
    public const uint EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000, EPOLLET = 1u << 31;
    public const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2;
    public const int EAGAIN = 11, EINTR = 4, EINPROGRESS = 115, ECONNRESET = 104, EPIPE = 32, ECONNABORTED = 103;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000;
    public const int EPOLL_CLOEXEC = 0x80000, EFD_CLOEXEC = 0x80000, EFD_NONBLOCK = 0x800;
    public const int SOL_SOCKET = 1, SO_ERROR = 4, IPPROTO_TCP = 6, TCP_NODELAY = 1;

    /// <summary>x86-64's epoll_event is packed: 4 bytes of events, then 8 of data.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>A SocketException for a Linux errno (its constructor takes SocketError codes, not errno values).</summary>
    public static System.Net.Sockets.SocketException Error(int errno) => new((int)(errno switch
    {
        111 => System.Net.Sockets.SocketError.ConnectionRefused,
        110 => System.Net.Sockets.SocketError.TimedOut,
        104 => System.Net.Sockets.SocketError.ConnectionReset,
        103 => System.Net.Sockets.SocketError.ConnectionAborted,
        101 => System.Net.Sockets.SocketError.NetworkUnreachable,
        113 => System.Net.Sockets.SocketError.HostUnreachable,
        99 => System.Net.Sockets.SocketError.AddressNotAvailable,
        98 => System.Net.Sockets.SocketError.AddressAlreadyInUse,
        32 => System.Net.Sockets.SocketError.Shutdown,
        13 or 1 => System.Net.Sockets.SocketError.AccessDenied,
        24 or 23 => System.Net.Sockets.SocketError.TooManyOpenSockets,
        105 or 12 => System.Net.Sockets.SocketError.NoBufferSpaceAvailable,
        _ => System.Net.Sockets.SocketError.SocketError,
    }));

    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int epoll_ctl(int epfd, int op, int fd, ref EpollEvent ev);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int epoll_wait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint read(int fd, void* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint write(int fd, void* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint recv(SafeHandle fd, byte* buf, nint len, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint send(SafeHandle fd, byte* buf, nint len, int flags);

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct IoVec
    {
        public byte* Base;
        public nint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public unsafe struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nint IovLength;
        public void* Control;
        public nint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial nint sendmsg(SafeHandle fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int accept4(SafeHandle fd, void* addr, void* addrLength, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int connect(SafeHandle fd, byte* addr, int addrLength);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int getsockopt(SafeHandle fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int setsockopt(SafeHandle fd, int level, int name, void* value, int length);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int getsockname(SafeHandle fd, byte* addr, int* addrLength);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int shutdown(SafeHandle fd, int how);

    [LibraryImport("libc", SetLastError = true)]
    public static unsafe partial int ioctl(SafeHandle fd, nuint request, int* value);

    public const nuint FIONREAD = 0x541B;

    public const int SHUT_RDWR = 2, SockAddrStorage = 128;

    /// <summary>An IP endpoint from a sockaddr_in or sockaddr_in6; null for other families.</summary>
    public static unsafe System.Net.IPEndPoint? ToEndPoint(byte* sa)
    {
        ushort family = *(ushort*)sa;
        int port = sa[2] << 8 | sa[3];
        if (family == 2) return new System.Net.IPEndPoint(new System.Net.IPAddress(new ReadOnlySpan<byte>(sa + 4, 4)), port);
        if (family == 10) return new System.Net.IPEndPoint(new System.Net.IPAddress(new ReadOnlySpan<byte>(sa + 8, 16), *(uint*)(sa + 24)), port);
        return null;
    }

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);
}

/// <summary>
/// A socket descriptor the epoll transport owns, closed with a plain close(2): the kernel still delivers what is queued
/// and then the FIN. (A SafeSocketHandle that owns the descriptor closes it abortively - SO_LINGER 0, a reset that
/// drops unsent bytes - unless Socket.Shutdown was called through it, which the transport never does: a response sent
/// just before the close could lose its tail on any link slower than loopback.)
/// </summary>
internal sealed class SocketFd : SafeHandleMinusOneIsInvalid
{
    public SocketFd(int fd) : base(ownsHandle: true) => SetHandle(fd);

    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => EpollNative.close((int)handle) == 0;
}
