using Nucleon.Pipes.Hosting;
using Nucleon.Pipes.Hosting.Consumers;

namespace Nucleon.Pipes.Tests.Unit.Hosting;

public sealed class SettlementPolicyTests
{
    [Fact]
    public void Dead_letter_policy_never_requeues()
    {
        Assert.False(SettlementPolicy.RequeueOnFailure(AmqpFailurePolicy.DeadLetter, 5, redelivered: false, headers: null));
    }

    [Theory]
    [InlineData(0L, true)]
    [InlineData(1L, true)]
    [InlineData(2L, false)]
    [InlineData(7L, false)]
    public void Requeue_policy_reads_x_delivery_count_against_the_limit(long earlier, bool requeue)
    {
        var headers = new Dictionary<string, object?> { ["x-delivery-count"] = earlier };
        Assert.Equal(requeue, SettlementPolicy.RequeueOnFailure(AmqpFailurePolicy.Requeue, 2, redelivered: earlier > 0, headers));
    }

    [Fact]
    public void X_delivery_count_of_any_integer_type_is_read()
    {
        foreach (object value in new object[] { 3L, 3, (short)3, (byte)3, (sbyte)3, (ushort)3, 3u })
        {
            Assert.Equal(3, SettlementPolicy.EarlierDeliveries(false, new Dictionary<string, object?> { ["x-delivery-count"] = value }));
        }
    }

    [Fact]
    public void Without_the_header_a_redelivered_message_counts_once()
    {
        Assert.Equal(0, SettlementPolicy.EarlierDeliveries(false, null));
        Assert.Equal(1, SettlementPolicy.EarlierDeliveries(true, new Dictionary<string, object?>()));
        Assert.False(SettlementPolicy.RequeueOnFailure(AmqpFailurePolicy.Requeue, 1, redelivered: true, headers: null));
        Assert.True(SettlementPolicy.RequeueOnFailure(AmqpFailurePolicy.Requeue, 1, redelivered: false, headers: null));
    }

    [Fact]
    public void Prefetch_is_at_least_the_concurrency()
    {
        Assert.Equal(8, new AmqpConsumerOptions { Concurrency = 4 }.EffectivePrefetch);
        Assert.Equal(4, new AmqpConsumerOptions { Concurrency = 4, Prefetch = 2 }.EffectivePrefetch);
        Assert.Equal(50, new AmqpConsumerOptions { Concurrency = 4, Prefetch = 50 }.EffectivePrefetch);
        Assert.Equal(ushort.MaxValue, new AmqpConsumerOptions { Concurrency = 40_000 }.EffectivePrefetch);
    }

    [Fact]
    public void Consumer_options_are_checked_when_registered()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new AmqpConsumerOptions { Concurrency = 0 }.Validate("q"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AmqpConsumerOptions { Prefetch = -1 }.Validate("q"));
        Assert.Throws<ArgumentException>(() => new AmqpConsumerOptions().Validate(""));
    }
}
