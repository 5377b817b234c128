// The config watch against the real kernel (inotify on a temp directory): what wakes it, and what must not.
using FastPath.Config;

namespace FastPath.Core.Tests.Config;

public sealed class InotifyWatchTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);
    private readonly string _dir = Directory.CreateTempSubdirectory("fastpath-watch-").FullName;
    private readonly string _path;
    private readonly SemaphoreSlim _fileChanged = new(0);
    private readonly SemaphoreSlim _entriesChanged = new(0);
    private volatile bool _lastNamed;

    public InotifyWatchTests()
    {
        _path = Path.Combine(_dir, "gateway.yaml");
        File.WriteAllText(_path, "a: 1\n");
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private InotifyWatch Start() => new(_path, named => { _lastNamed = named; _entriesChanged.Release(); }, () => _fileChanged.Release());

    [Fact]
    public async Task WritesToANeighbour_NeverReachTheProcess()
    {
        using InotifyWatch watch = Start();
        string log = Path.Combine(_dir, "access.log");
        File.WriteAllText(log, "");
        Assert.True(await _entriesChanged.WaitAsync(Wait), "creating the neighbour is a name event");
        long before = watch.EventsRead;

        // A log beside the config, written once per line as h2load does: with a watch on the directory's writes
        // every one of these is an event queued for this process.
        using (var stream = new FileStream(log, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 1))
        {
            for (int i = 0; i < 200; i++)
            {
                stream.Write("a line\n"u8);
                stream.Flush();
            }
        }
        // The same watch still sees the config file's own write after them, so it was listening all along.
        File.AppendAllText(_path, "b: 2\n");
        Assert.True(await _fileChanged.WaitAsync(Wait), "a write to the config file itself wakes the watch");
        long events = watch.EventsRead - before;
        Assert.InRange(events, 1, 3); // the config's own modify and close-write, nothing of the neighbour's 200
    }

    [Fact]
    public async Task SaveByRename_NamesTheFile_AndLaterWritesToTheNewFileAreSeen()
    {
        using InotifyWatch watch = Start();
        string temp = Path.Combine(_dir, ".gateway.yaml.swp");
        File.WriteAllText(temp, "a: 2\n");
        File.Move(temp, _path, overwrite: true);
        Assert.True(await WaitForNamedAsync(), "the rename onto the file names it");
        Drain();

        File.AppendAllText(_path, "c: 3\n");
        Assert.True(await _fileChanged.WaitAsync(Wait), "the watch moved to the file the rename put there");
    }

    [Fact]
    public async Task ConfigMapSwap_IsANameEvent_AndTheWatchFollowsTheLinkToTheNewFile()
    {
        // The ConfigMap layout: gateway.yaml -> ..data/gateway.yaml, ..data -> ..v1.
        File.Delete(_path);
        Directory.CreateDirectory(Path.Combine(_dir, "..v1"));
        File.WriteAllText(Path.Combine(_dir, "..v1", "gateway.yaml"), "a: 1\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "..data"), "..v1");
        File.CreateSymbolicLink(_path, Path.Combine("..data", "gateway.yaml"));
        using InotifyWatch watch = Start();

        Directory.CreateDirectory(Path.Combine(_dir, "..v2"));
        File.WriteAllText(Path.Combine(_dir, "..v2", "gateway.yaml"), "a: 2\n");
        File.CreateSymbolicLink(Path.Combine(_dir, "..data_tmp"), "..v2");
        using (var mv = System.Diagnostics.Process.Start("mv", ["-T", Path.Combine(_dir, "..data_tmp"), Path.Combine(_dir, "..data")]))
        {
            await mv.WaitForExitAsync();
            Assert.Equal(0, mv.ExitCode);
        }
        Assert.True(await _entriesChanged.WaitAsync(Wait), "the ..data swap is a name event in the directory");
        Assert.False(_lastNamed);
        await Task.Delay(200);
        Drain();

        File.AppendAllText(Path.Combine(_dir, "..v1", "gateway.yaml"), "old: 1\n");
        Assert.False(await _fileChanged.WaitAsync(TimeSpan.FromMilliseconds(500)), "the file the link left is no longer watched");
        File.AppendAllText(Path.Combine(_dir, "..v2", "gateway.yaml"), "new: 1\n");
        Assert.True(await _fileChanged.WaitAsync(Wait), "the file the link leads to now is watched");
    }

    [Fact]
    public async Task ALinkToAFileElsewhere_StaysWatched_WhenThatFileIsSavedByRename()
    {
        // gateway.yaml -> another directory's file, which an editor there saves by rename: nothing changes in the
        // watched directory, and the old file's watch ends with it.
        string elsewhere = Directory.CreateTempSubdirectory("fastpath-watch-target-").FullName;
        try
        {
            string target = Path.Combine(elsewhere, "real.yaml");
            File.WriteAllText(target, "a: 1\n");
            File.Delete(_path);
            File.CreateSymbolicLink(_path, target);
            using InotifyWatch watch = Start();

            for (int save = 1; save <= 2; save++)
            {
                string temp = Path.Combine(elsewhere, ".real.yaml.swp");
                File.WriteAllText(temp, $"a: {save + 1}\n");
                File.Move(temp, target, overwrite: true);
                Assert.True(await _fileChanged.WaitAsync(Wait), $"save {save} by rename is seen");
                await Task.Delay(100);
                Drain();
            }
            File.AppendAllText(target, "b: 2\n");
            Assert.True(await _fileChanged.WaitAsync(Wait), "a write after the saves is seen");
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task AFileThatAppearsLater_IsWatchedFromThen()
    {
        File.Delete(_path);
        using InotifyWatch watch = Start();
        File.WriteAllText(_path, "a: 1\n");
        Assert.True(await WaitForNamedAsync(), "the file's creation names it");
        Drain();
        File.AppendAllText(_path, "b: 2\n");
        Assert.True(await _fileChanged.WaitAsync(Wait));
    }

    [Fact]
    public void Dispose_EndsTheThread_AndRunsNoCallbackAfter()
    {
        InotifyWatch watch = Start();
        watch.Dispose();
        long events = watch.EventsRead;
        File.AppendAllText(_path, "b: 2\n");
        Thread.Sleep(200);
        Assert.Equal(events, watch.EventsRead);
        Assert.Equal(0, _fileChanged.CurrentCount);
        watch.Dispose(); // twice is harmless
    }

    private async Task<bool> WaitForNamedAsync()
    {
        DateTime until = DateTime.UtcNow + Wait;
        while (DateTime.UtcNow < until)
        {
            if (await _entriesChanged.WaitAsync(until - DateTime.UtcNow) && _lastNamed) return true;
        }
        return false;
    }

    private void Drain()
    {
        while (_fileChanged.Wait(0)) { }
        while (_entriesChanged.Wait(0)) { }
    }
}
