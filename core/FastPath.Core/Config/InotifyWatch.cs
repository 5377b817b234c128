// What the config file watcher asks the kernel for on Linux: changes to the file itself, and names coming and going
// in its directory, but never writes to the directory's other files.
//
// FileSystemWatcher can only watch a directory, and asking it for writes means the kernel queues an event for every
// write(2) to every file there. A log beside the config (h2load's, written once per request, was one) then woke the
// gateway's watcher thread once per write, on the gateway's core. Here the directory watch takes only names created,
// deleted and renamed (an editor's save by rename, a ConfigMap's ..data swap), and a second watch on the file's path
// takes writes; inotify_add_watch follows symlinks, so that watch sits on the file the path leads to, and it is
// moved there again after every event.
using System.Runtime.InteropServices;
using System.Text;

namespace FastPath.Config;

internal sealed partial class InotifyWatch : IDisposable
{
    private const uint IN_MODIFY = 0x2, IN_ATTRIB = 0x4, IN_CLOSE_WRITE = 0x8, IN_MOVED_FROM = 0x40, IN_MOVED_TO = 0x80,
        IN_CREATE = 0x100, IN_DELETE = 0x200, IN_DELETE_SELF = 0x400, IN_MOVE_SELF = 0x800, IN_Q_OVERFLOW = 0x4000,
        IN_IGNORED = 0x8000, IN_ONLYDIR = 0x1000000;
    private const int IN_CLOEXEC = 0x80000, EINTR = 4, EMFILE = 24, ENOSPC = 28;
    private const uint DirectoryMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
    private const uint FileMask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF;
    private const int HeaderSize = 16; // struct inotify_event: wd, mask, cookie, len, then len bytes of name

    private readonly int _fd;
    private readonly string _path;
    private readonly int _directoryWd;
    private readonly byte[] _fileName;
    private readonly Action<bool> _entryChanged;
    private readonly Action _fileChanged;
    private readonly Thread _thread;
    private int _fileWd = -1;
    private volatile bool _disposed;
    private long _eventsRead;

    /// <param name="entryChanged">Names in the directory were created, deleted or renamed; true when one of them was the
    /// file's own.</param>
    /// <param name="fileChanged">The file the path leads to was written, moved or deleted, or events were lost.</param>
    public InotifyWatch(string path, Action<bool> entryChanged, Action fileChanged)
    {
        _path = path;
        _fileName = Encoding.UTF8.GetBytes(Path.GetFileName(path));
        _entryChanged = entryChanged;
        _fileChanged = fileChanged;
        _fd = inotify_init1(IN_CLOEXEC);
        if (_fd < 0) throw new IOException("cannot create an inotify instance: " + Describe(Marshal.GetLastPInvokeError()));
        _directoryWd = inotify_add_watch(_fd, Path.GetDirectoryName(path)!, DirectoryMask);
        if (_directoryWd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            close(_fd);
            throw new IOException($"cannot watch {Path.GetDirectoryName(path)}: {Describe(errno)}");
        }
        WatchFile();
        _thread = new Thread(Run) { IsBackground = true, Name = "config watch" };
        _thread.Start();
    }

    private static string Describe(int errno) => errno switch
    {
        EMFILE => "the user's inotify instance limit is reached (fs.inotify.max_user_instances)",
        ENOSPC => "the user's inotify watch limit is reached (fs.inotify.max_user_watches)",
        _ => $"errno {errno}",
    };

    /// <summary>Events the kernel delivered so far (what a neighbour's writes must not add to).</summary>
    public long EventsRead => Interlocked.Read(ref _eventsRead);

    /// <summary>Puts the file watch on what the path leads to now (a missing file has none until it appears).</summary>
    private void WatchFile()
    {
        int wd = inotify_add_watch(_fd, _path, FileMask);
        int old = Interlocked.Exchange(ref _fileWd, wd);
        // The same file gives the same descriptor back; a file the path no longer leads to is left alone.
        if (old >= 0 && old != wd) inotify_rm_watch(_fd, old);
    }

    private unsafe void Run()
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (!_disposed)
            {
                nint n;
                fixed (byte* p = buffer) n = read(_fd, p, buffer.Length);
                if (n < 0)
                {
                    if (Marshal.GetLastPInvokeError() == EINTR) continue;
                    return;
                }
                if (_disposed) return;
                bool file = false, entries = false, named = false;
                for (int at = 0; at + HeaderSize <= n;)
                {
                    int wd = BitConverter.ToInt32(buffer, at);
                    uint mask = BitConverter.ToUInt32(buffer, at + 4);
                    int length = BitConverter.ToInt32(buffer, at + 12);
                    Interlocked.Increment(ref _eventsRead);
                    if ((mask & IN_Q_OVERFLOW) != 0)
                    {
                        entries = true; // lost events: look at everything again
                        file = true;
                    }
                    else if (wd == _directoryWd && (mask & IN_IGNORED) == 0)
                    {
                        // One callback per batch: several names at once (an editor's save) are one change to check.
                        ReadOnlySpan<byte> name = buffer.AsSpan(at + HeaderSize, length);
                        int end = name.IndexOf((byte)0);
                        named |= (end < 0 ? name : name[..end]).SequenceEqual(_fileName);
                        entries = true;
                    }
                    else if (wd == Volatile.Read(ref _fileWd))
                    {
                        if ((mask & IN_IGNORED) != 0) Interlocked.CompareExchange(ref _fileWd, -1, wd);
                        else file = true;
                    }
                    at += HeaderSize + length;
                }
                // The path may lead to another file now: a name changed here, or the file was replaced where it
                // lives (a symlink's target saved by rename in its own directory ends the old file's watch).
                if (entries || file) WatchFile();
                if (entries) _entryChanged(named);
                if (file) _fileChanged();
            }
        }
        finally
        {
            close(_fd);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        // Removing the directory watch queues IN_IGNORED, which ends the thread's read; the thread closes the fd
        // (a thread that already ended on a read error has closed it).
        if (_thread.IsAlive) inotify_rm_watch(_fd, _directoryWd);
        _thread.Join(TimeSpan.FromSeconds(2));
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_init1(int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int inotify_add_watch(int fd, string path, uint mask);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int inotify_rm_watch(int fd, int wd);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);
}
