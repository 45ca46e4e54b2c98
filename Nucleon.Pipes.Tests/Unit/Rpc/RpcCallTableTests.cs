using System.Text;
using Nucleon.Pipes.Rpc;

namespace Nucleon.Pipes.Tests.Unit.Rpc;

/// <summary>
/// The pending-call table of the RPC client on its own: replies matched by correlation id, pooled call
/// objects, and every way a call can end racing the others.
/// </summary>
public sealed class RpcCallTableTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly RpcCallTable _table = new(TimeProvider.System);
    private readonly object _link = new();

    private (PendingCall Call, long Version) Start(TimeSpan? timeout = null, object? link = null, CancellationToken cancellationToken = default)
    {
        var call = _table.Rent(out long version);
        call.Arm(version, link ?? _link, "", "rpc", timeout ?? Timeout.InfiniteTimeSpan, cancellationToken);
        return (call, version);
    }

    private static async Task<AmqpRpcReply> ResultAsync(PendingCall call, long version)
    {
        await call.AsValueTask().AsTask().WaitAsync(Bound);
        return new AmqpRpcReply(call, version);
    }

    private static string Text(AmqpRpcReply reply) => Encoding.UTF8.GetString(reply.Body.Span);

    private static byte[] Bytes(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] RawProperties(BasicProperties properties) => Framing.CodecTestHelpers.EncodeProperties(properties);

    [Fact]
    public async Task A_reply_as_property_bytes_reaches_its_call_and_its_properties_are_decoded_when_read()
    {
        var (first, v1) = Start();
        var (second, v2) = Start();
        var sent = new BasicProperties { CorrelationId = second.CorrelationId, ContentType = "text/plain", MessageId = "m" };

        Assert.True(_table.DeliverRaw(RawProperties(sent), Bytes("two")));
        Assert.True(first.IsPending(v1));

        using var r2 = await ResultAsync(second, v2);
        Assert.Equal("two", Text(r2));
        Assert.Equal(sent, r2.Properties);
        Assert.Same(r2.Properties, r2.Properties); // decoded once
        Assert.Equal(0, _table.DroppedReplies);

        // Not ours, garbage, or for a call that is no longer waiting: dropped and counted, never delivered elsewhere.
        Assert.False(_table.DeliverRaw(RawProperties(new BasicProperties { CorrelationId = "someone-else" }), Bytes("x")));
        Assert.False(_table.DeliverRaw(RawProperties(new BasicProperties { MessageId = "no id" }), Bytes("x")));
        Assert.False(_table.DeliverRaw(RawProperties(sent), Bytes("again")));
        Assert.Equal(3, _table.DroppedReplies);
        Assert.True(first.IsPending(v1));
    }

    [Fact]
    public async Task A_pooled_call_reused_after_a_byte_reply_shows_the_next_replys_properties_not_the_last()
    {
        var (call, v1) = Start();
        Assert.True(_table.DeliverRaw(RawProperties(new BasicProperties { CorrelationId = call.CorrelationId, Type = "first" }), Bytes("1")));
        var r1 = await ResultAsync(call, v1);
        Assert.Equal("first", r1.Properties.Type);
        r1.Dispose();

        var (again, v2) = Start();
        Assert.Same(call, again);
        Assert.True(_table.Deliver(again.CorrelationId, Bytes("2"), new BasicProperties { Type = "second" }));
        using var r2 = await ResultAsync(again, v2);
        Assert.Equal("second", r2.Properties.Type);
    }

    [Fact]
    public async Task A_reply_reaches_the_call_its_correlation_id_names()
    {
        var (first, v1) = Start();
        var (second, v2) = Start();
        Assert.NotEqual(first.CorrelationId, second.CorrelationId);

        Assert.True(_table.Deliver(second.CorrelationId, Bytes("two"), new BasicProperties { ContentType = "text/plain" }));
        Assert.True(_table.Deliver(first.CorrelationId, Bytes("one"), BasicProperties.Empty));

        using var r1 = await ResultAsync(first, v1);
        using var r2 = await ResultAsync(second, v2);
        Assert.Equal("one", Text(r1));
        Assert.Equal("two", Text(r2));
        Assert.Equal("text/plain", r2.Properties.ContentType);
        Assert.Equal(0, _table.DroppedReplies);
    }

    [Fact]
    public async Task A_late_reply_after_a_timeout_is_dropped_and_counted_and_never_reaches_the_next_call_on_the_same_object()
    {
        var (timedOut, v1) = Start(TimeSpan.FromMilliseconds(20));
        string lateId = timedOut.CorrelationId;
        int index = timedOut.Index;
        var error = await Assert.ThrowsAsync<TimeoutException>(() => ResultAsync(timedOut, v1));
        Assert.Contains("routing key \"rpc\"", error.Message, StringComparison.Ordinal);

        // The pooled object and its index serve the next call.
        var (next, v2) = Start();
        Assert.Same(timedOut, next);
        Assert.Equal(index, next.Index);
        Assert.NotEqual(lateId, next.CorrelationId);

        Assert.False(_table.Deliver(lateId, Bytes("late"), BasicProperties.Empty));
        Assert.Equal(1, _table.DroppedReplies);
        Assert.True(next.IsPending(v2), "the late reply completed the next call");

        Assert.True(_table.Deliver(next.CorrelationId, Bytes("mine"), BasicProperties.Empty));
        using var reply = await ResultAsync(next, v2);
        Assert.Equal("mine", Text(reply));
    }

    [Fact]
    public async Task A_cancelled_call_fails_with_its_token_and_its_late_reply_is_dropped()
    {
        using var cts = new CancellationTokenSource();
        var (call, version) = Start(cancellationToken: cts.Token);
        string id = call.CorrelationId;
        await cts.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ResultAsync(call, version));
        Assert.Equal(cts.Token, error.CancellationToken);

        var (next, v2) = Start();
        Assert.False(_table.Deliver(id, Bytes("late"), BasicProperties.Empty));
        Assert.Equal(1, _table.DroppedReplies);
        Assert.True(_table.Deliver(next.CorrelationId, Bytes("next"), BasicProperties.Empty));
        using var reply = await ResultAsync(next, v2);
        Assert.Equal("next", Text(reply));
    }

    [Fact]
    public async Task A_token_cancelled_before_the_call_fails_it_at_once()
    {
        var (call, version) = Start(cancellationToken: new CancellationToken(canceled: true));
        Assert.False(call.IsPending(version));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ResultAsync(call, version));
    }

    [Fact]
    public async Task A_reply_sent_twice_is_handed_out_once()
    {
        var (call, version) = Start();
        string id = call.CorrelationId;
        Assert.True(_table.Deliver(id, Bytes("first"), BasicProperties.Empty));
        Assert.False(_table.Deliver(id, Bytes("second"), BasicProperties.Empty));
        using var reply = await ResultAsync(call, version);
        Assert.Equal("first", Text(reply));

        // Even once the caller has its reply, and after the reply was released.
        Assert.False(_table.Deliver(id, Bytes("third"), BasicProperties.Empty));
        Assert.Equal(2, _table.DroppedReplies);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not-ours")]
    [InlineData("0")]
    [InlineData("0.0")]
    [InlineData("ffffffff.1")]
    [InlineData("7fffffff.1")]
    [InlineData("0.zz")]
    public void A_reply_with_a_correlation_id_that_names_no_call_is_dropped(string? id)
    {
        Start();
        Assert.False(_table.Deliver(id, Bytes("x"), BasicProperties.Empty));
        Assert.Equal(1, _table.DroppedReplies);
    }

    [Fact]
    public async Task Losing_a_link_fails_only_the_calls_sent_on_it()
    {
        var otherLink = new object();
        var (lost, v1) = Start();
        var (kept, v2) = Start(link: otherLink);
        _table.FailAll(_link, new AmqpConnectionLostException("gone"));

        await Assert.ThrowsAsync<AmqpConnectionLostException>(() => ResultAsync(lost, v1));
        Assert.True(kept.IsPending(v2));
        Assert.True(_table.Deliver(kept.CorrelationId, Bytes("kept"), BasicProperties.Empty));
        using var reply = await ResultAsync(kept, v2);
        Assert.Equal("kept", Text(reply));
    }

    [Fact]
    public async Task A_disposed_reply_throws_instead_of_showing_the_next_calls_reply()
    {
        var (call, version) = Start();
        _table.Deliver(call.CorrelationId, Bytes("first"), BasicProperties.Empty);
        var reply = await ResultAsync(call, version);
        Assert.True(reply.IsValid);
        reply.Dispose();
        reply.Dispose(); // twice: nothing more happens
        Assert.False(reply.IsValid);
        Assert.Throws<InvalidOperationException>(() => reply.Body);

        var (next, v2) = Start();
        Assert.Same(call, next);
        _table.Deliver(next.CorrelationId, Bytes("second"), BasicProperties.Empty);
        using var second = await ResultAsync(next, v2);
        Assert.Throws<InvalidOperationException>(() => reply.Body);
        Assert.Throws<InvalidOperationException>(() => reply.Properties);
        Assert.Equal("second", Text(second));
        Assert.Throws<InvalidOperationException>(() => default(AmqpRpcReply).Body);
    }

    [Fact]
    public async Task A_reply_that_is_never_disposed_leaves_its_index_free_for_the_next_call()
    {
        var (call, version) = Start();
        int index = call.Index;
        _table.Deliver(call.CorrelationId, Bytes("kept by the caller"), BasicProperties.Empty);
        var held = await ResultAsync(call, version);

        var (next, _) = Start();
        Assert.NotSame(call, next);
        Assert.Equal(index, next.Index);
        Assert.Equal("kept by the caller", Text(held));
    }

    [Fact]
    public async Task Every_way_a_call_ends_races_the_others_and_exactly_one_wins()
    {
        // The reply, the timer, the token and the loss of the link, all at once, many times over on pooled objects.
        for (int i = 0; i < 2000; i++)
        {
            using var cts = new CancellationTokenSource();
            var (call, version) = Start(TimeSpan.FromMilliseconds(1), cancellationToken: cts.Token);
            string id = call.CorrelationId;
            var body = Bytes($"reply {i}");
            var deliver = Task.Run(() => _table.Deliver(id, body, BasicProperties.Empty));
            var cancel = Task.Run(cts.Cancel);
            var fail = Task.Run(() => _table.FailAll(_link, new AmqpConnectionLostException("gone")));
            bool delivered = await deliver.WaitAsync(Bound);
            await Task.WhenAll(cancel, fail).WaitAsync(Bound);
            try
            {
                using var reply = await ResultAsync(call, version);
                Assert.True(delivered, $"call {i} completed with a reply that was reported dropped");
                Assert.Equal($"reply {i}", Text(reply));
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or AmqpConnectionLostException)
            {
                Assert.False(delivered, $"call {i} failed ({ex.GetType().Name}) although its reply was delivered");
            }
        }
    }
}
