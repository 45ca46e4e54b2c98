using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>The gate ProcessAsync's workers take turns through: one holder at a time, first come first served.</summary>
public sealed class WorkerGateTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Waiters_get_the_gate_one_at_a_time_in_arrival_order_and_tickets_are_reused()
    {
        var gate = new WorkerGate(3);
        var a = new WorkerGate.Ticket();
        var b = new WorkerGate.Ticket();
        var c = new WorkerGate.Ticket();
        Assert.True(AtOnce(gate.EnterAsync(a)));
        var bEntered = gate.EnterAsync(b).AsTask();
        var cEntered = gate.EnterAsync(c).AsTask();
        await Task.Delay(50);
        Assert.False(bEntered.IsCompleted || cEntered.IsCompleted, "entered while a holds the gate");

        gate.Exit(); // a leaves: b, the first to wait, is next
        await bEntered.WaitAsync(Bound);
        await Task.Delay(50);
        Assert.False(cEntered.IsCompleted, "c entered while b holds the gate");
        gate.Exit(); // b leaves: c is next
        await cEntered.WaitAsync(Bound);

        gate.Exit(); // c leaves: free again, and every ticket works for a second round
        Assert.True(AtOnce(gate.EnterAsync(b)));
        var again = gate.EnterAsync(a).AsTask();
        Assert.False(again.IsCompleted);
        gate.Exit();
        await again.WaitAsync(Bound);
        gate.Exit();
    }

    private static bool AtOnce(ValueTask entered) => entered.IsCompletedSuccessfully;
}
