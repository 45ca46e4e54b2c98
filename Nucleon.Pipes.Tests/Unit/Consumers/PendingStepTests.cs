using System.Threading.Channels;
using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>
/// A consumer stream's reusable waiting step: it completes with what the owner's resume function makes of the
/// inner step (a result, an error, or a further step that completes later), and serves step after step.
/// </summary>
public sealed class PendingStepTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task The_step_completes_with_what_resume_makes_of_the_inner_result()
    {
        var seen = new List<(bool, Exception?)>();
        var step = new PendingStep((moved, error) =>
        {
            seen.Add((moved, error));
            return new ValueTask<bool>(!moved);
        });

        for (int i = 0; i < 3; i++)
        {
            var inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var outer = step.Wait(new ValueTask<bool>(inner.Task));
            Assert.False(outer.IsCompleted);
            inner.SetResult(i % 2 == 0);
            Assert.Equal(i % 2 != 0, await outer.AsTask().WaitAsync(Bound));
        }

        Assert.Equal([(true, null), (false, null), (true, null)], seen);
    }

    [Fact]
    public async Task An_inner_error_reaches_resume_and_an_error_resume_throws_becomes_the_steps()
    {
        var step = new PendingStep((_, error) => error is InvalidOperationException ? throw new TimeoutException("from resume") : ValueTask.FromException<bool>(error!));

        var inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var outer = step.Wait(new ValueTask<bool>(inner.Task));
        inner.SetException(new FormatException("inner"));
        Assert.Equal("inner", (await Assert.ThrowsAsync<FormatException>(() => outer.AsTask().WaitAsync(Bound))).Message);

        inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        outer = step.Wait(new ValueTask<bool>(inner.Task));
        inner.SetException(new InvalidOperationException());
        Assert.Equal("from resume", (await Assert.ThrowsAsync<TimeoutException>(() => outer.AsTask().WaitAsync(Bound))).Message);
    }

    [Fact]
    public async Task An_inner_step_completed_already_is_resumed_at_once_with_its_result_or_error()
    {
        var step = new PendingStep((moved, error) => error is TimeoutException ? throw new InvalidOperationException("from resume") : error is not null ? ValueTask.FromException<bool>(error) : new ValueTask<bool>(!moved));

        var done = step.Wait(new ValueTask<bool>(true)).AsTask();
        Assert.True(done.IsCompleted);
        Assert.False(await done);
        Assert.True(await step.Wait(new ValueTask<bool>(false)));
        Assert.Equal("inner", (await Assert.ThrowsAsync<FormatException>(() => step.Wait(ValueTask.FromException<bool>(new FormatException("inner"))).AsTask())).Message);
        Assert.Equal("from resume", (await Assert.ThrowsAsync<InvalidOperationException>(() => step.Wait(ValueTask.FromException<bool>(new TimeoutException())).AsTask())).Message);

        // And it still serves a step that waits.
        var inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var outer = step.Wait(new ValueTask<bool>(inner.Task)).AsTask();
        Assert.False(outer.IsCompleted);
        inner.SetResult(false);
        Assert.True(await outer.WaitAsync(Bound));
    }

    [Fact]
    public async Task A_further_step_that_resume_starts_completes_the_step_when_it_does()
    {
        var started = Channel.CreateUnbounded<TaskCompletionSource<bool>>();
        var step = new PendingStep((_, _) =>
        {
            var further = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            started.Writer.TryWrite(further);
            return new ValueTask<bool>(further.Task);
        });

        var inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var outer = step.Wait(new ValueTask<bool>(inner.Task)).AsTask();
        inner.SetResult(false);
        var further = await started.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        Assert.False(outer.IsCompleted);
        further.SetResult(true);
        Assert.True(await outer.WaitAsync(Bound));

        // And a failing one fails it.
        inner = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        outer = step.Wait(new ValueTask<bool>(inner.Task)).AsTask();
        inner.SetResult(true);
        further = await started.Reader.ReadAsync().AsTask().WaitAsync(Bound);
        further.SetException(new ArithmeticException("later"));
        Assert.Equal("later", (await Assert.ThrowsAsync<ArithmeticException>(() => outer.WaitAsync(Bound))).Message);
    }
}
