// ReadDeadline over a real Pipe: expiry cancels the pending read; a firing that lands after the read already
// completed must not leak into the next phase's read (the heartbeat runs on its own thread).
using System.IO.Pipelines;
using FastPath.Transport;

namespace FastPath.Core.Tests.Transport;

public sealed class ReadDeadlineTests
{
    [Fact]
    public async Task Check_Expired_CancelsPendingRead_TimedOut()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Arm(pipe.Reader, 1);
        ValueTask<ReadResult> pending = pipe.Reader.ReadAsync();

        deadline.Check(Environment.TickCount64 + 10_000);

        ReadResult r = await pending;
        Assert.True(r.IsCanceled);
        Assert.True(deadline.TimedOut);
        pipe.Reader.AdvanceTo(r.Buffer.Start);
    }

    [Fact]
    public async Task Check_NotExpired_LeavesReadAlone()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Arm(pipe.Reader, 60_000);
        ValueTask<ReadResult> pending = pipe.Reader.ReadAsync();

        deadline.Check(Environment.TickCount64);
        await pipe.Writer.WriteAsync(new byte[] { 1 });

        ReadResult r = await pending;
        Assert.False(r.IsCanceled);
        Assert.False(deadline.TimedOut);
    }

    [Fact]
    public async Task FiredAfterReadCompleted_ThenDisarmed_NextPhaseReadNotCanceled()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Arm(pipe.Reader, 1);
        await pipe.Writer.WriteAsync(new byte[] { 1, 2, 3 });
        ReadResult first = await pipe.Reader.ReadAsync();
        Assert.False(first.IsCanceled);
        pipe.Reader.AdvanceTo(first.Buffer.End);

        // The heartbeat fires between the read completing and the reader disarming.
        deadline.Check(Environment.TickCount64 + 10_000);
        deadline.Disarm();

        deadline.Arm(pipe.Reader, 60_000);
        ValueTask<ReadResult> next = pipe.Reader.ReadAsync();
        await pipe.Writer.WriteAsync(new byte[] { 4 });
        ReadResult second = await next;
        Assert.False(second.IsCanceled);
        Assert.Equal(1, second.Buffer.Length);
    }

    [Fact]
    public async Task FireIfArmed_Disarmed_DoesNothing()
    {
        var pipe = new Pipe();
        var deadline = new ReadDeadline();
        deadline.Arm(pipe.Reader, 60_000);
        deadline.Disarm();

        deadline.FireIfArmed();

        ValueTask<ReadResult> read = pipe.Reader.ReadAsync();
        await pipe.Writer.WriteAsync(new byte[] { 9 });
        Assert.False((await read).IsCanceled);
    }
}
