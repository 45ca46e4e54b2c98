using Nucleon.Pipes.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Consumers;

/// <summary>Where a stream consumer resumes: the first offset handed out and not settled, whatever order settlements come in.</summary>
public sealed class StreamCursorTests
{
    private static Delivery At(long offset) =>
        new(null) { Properties = new BasicProperties { Headers = new Dictionary<string, object?> { ["x-stream-offset"] = offset } } };

    [Fact]
    public void Resumes_at_the_start_it_was_given_until_something_is_handed_out()
    {
        Assert.Null(new StreamCursor(null).ResumeAt);
        var cursor = new StreamCursor(42);
        Assert.Equal(42, cursor.ResumeAt);
        var d = At(42);
        cursor.Yielded(d);
        Assert.Equal(42, cursor.ResumeAt);
        cursor.Settled(d, multiple: false);
        Assert.Equal(43, cursor.ResumeAt);
    }

    [Fact]
    public void Out_of_order_settlements_move_the_resume_point_only_past_a_settled_prefix()
    {
        var cursor = new StreamCursor(null);
        var deliveries = Enumerable.Range(100, 40).Select(i => At(i)).ToArray(); // more than the initial ring
        foreach (var d in deliveries)
        {
            cursor.Yielded(d);
        }

        cursor.Settled(deliveries[1], multiple: false);
        cursor.Settled(deliveries[2], multiple: false);
        Assert.Equal(100, cursor.ResumeAt);
        cursor.Settled(deliveries[0], multiple: false);
        Assert.Equal(103, cursor.ResumeAt);
        cursor.Settled(deliveries[30], multiple: true);
        Assert.Equal(131, cursor.ResumeAt);
        cursor.Settled(deliveries[30], multiple: false); // a stale or repeated settle changes nothing
        Assert.Equal(131, cursor.ResumeAt);
    }

    [Fact]
    public void Deliveries_without_an_offset_header_are_not_tracked()
    {
        var cursor = new StreamCursor(7);
        var plain = new Delivery(null);
        cursor.Yielded(plain);
        Assert.Null(plain.Cursor);
        Assert.Equal(7, cursor.ResumeAt);
    }
}
