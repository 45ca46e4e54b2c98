using System.IO.Pipelines;
using Microsoft.Extensions.Time.Testing;
using Nucleon.Pipes.Connection;

namespace Nucleon.Pipes.Tests.Unit.Connection;

/// <summary>
/// Heartbeats tick from a timer callback (idle connection memory, issue 14): a heartbeat every half interval
/// while nothing else is written, one timeout after two silent intervals, and nothing at all once stopped,
/// also when Stop came before Start (the connection was aborted while it was being set up).
/// </summary>
public sealed class HeartbeatMonitorTests
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(10);
    private static readonly AmqpEndpoint Endpoint = new("127.0.0.1", 5672);

    [Fact]
    public void Sends_a_heartbeat_when_nothing_was_written_and_times_out_once()
    {
        var (time, writer, timeouts, monitor) = Create();
        monitor.Start();

        time.Advance(Heartbeat / 2);
        Assert.Equal(8, Written(writer)); // one heartbeat frame
        monitor.NoteRead();
        time.Advance(Heartbeat / 2);
        time.Advance(Heartbeat / 2);
        Assert.Empty(timeouts);

        time.Advance(Heartbeat * 3); // silent for more than two intervals
        var timeout = Assert.Single(timeouts);
        Assert.Contains("Heartbeat timeout", timeout.Message, StringComparison.Ordinal);
        time.Advance(Heartbeat * 3);
        Assert.Single(timeouts);
    }

    [Fact]
    public void Stopped_it_neither_sends_nor_times_out()
    {
        var (time, writer, timeouts, monitor) = Create();
        monitor.Start();
        monitor.Stop();
        monitor.Stop();

        time.Advance(Heartbeat * 5);
        Assert.Equal(0, Written(writer));
        Assert.Empty(timeouts);
    }

    [Fact]
    public void Stopped_before_it_started_it_never_ticks()
    {
        var (time, writer, timeouts, monitor) = Create();
        monitor.Stop();
        monitor.Start();

        time.Advance(Heartbeat * 5);
        Assert.Equal(0, Written(writer));
        Assert.Empty(timeouts);
    }

    private static (FakeTimeProvider Time, OutboundWriter Writer, List<Exception> Timeouts, HeartbeatMonitor Monitor) Create()
    {
        var time = new FakeTimeProvider();
        var writer = new OutboundWriter(new Pipe().Writer, 64, time);
        var timeouts = new List<Exception>();
        var monitor = new HeartbeatMonitor(Heartbeat, time, writer, Endpoint, e => { lock (timeouts) { timeouts.Add(e); } });
        return (time, writer, timeouts, monitor);
    }

    // What the writer would put on the socket from the control lane now (the writer task is not running).
    private static long Written(OutboundWriter writer)
    {
        writer.Control.WriteTurn(writer, 64 * 1024, out _, out _);
        return writer.BytesWritten;
    }
}
