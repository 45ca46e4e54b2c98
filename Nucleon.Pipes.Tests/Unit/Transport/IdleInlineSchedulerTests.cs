using System.Diagnostics;
using Nucleon.Pipes.Transport;

namespace Nucleon.Pipes.Tests.Unit.Transport;

/// <summary>Who runs the send loop: the flushing thread after a quiet spell, the thread pool within a stream.</summary>
public sealed class IdleInlineSchedulerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public void After_a_quiet_spell_the_send_loop_runs_on_the_flushing_thread()
    {
        var scheduler = new IdleInlineScheduler();
        for (int i = 0; i < 3; i++)
        {
            long start = Stopwatch.GetTimestamp();
            while (Stopwatch.GetTimestamp() - start <= 2 * QuietSpell.Ticks)
            {
                Thread.SpinWait(20);
            }

            int ranOn = -1;
            scheduler.Schedule(_ => ranOn = Environment.CurrentManagedThreadId, null);
            Assert.Equal(Environment.CurrentManagedThreadId, ranOn);
        }
    }

    [Fact]
    public async Task Within_a_stream_of_flushes_the_send_loop_is_handed_to_the_thread_pool()
    {
        // Two wake-ups back to back: the second falls within the quiet spell and must not run on this thread. A
        // preemption longer than the spell between the two can make one attempt inline; a hundred in a row cannot.
        var scheduler = new IdleInlineScheduler();
        for (int attempt = 0; attempt < 100; attempt++)
        {
            var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            int me = Environment.CurrentManagedThreadId;
            int ranOn = 0;
            scheduler.Schedule(_ => { }, null);
            scheduler.Schedule(_ =>
            {
                Volatile.Write(ref ranOn, Environment.CurrentManagedThreadId);
                ran.SetResult();
            }, null);
            // Inline means done before Schedule returned, on this thread (a pool thread may also finish it that fast,
            // but never on this one: this thread is busy here until the await below).
            bool inline = ran.Task.IsCompleted && Volatile.Read(ref ranOn) == me;
            if (!inline)
            {
                await ran.Task.WaitAsync(Timeout);
                return;
            }
        }

        Assert.Fail("every second wake-up of a pair ran inline");
    }
}
