using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Messaging;

/// <summary>Application callbacks that throw: reported to <c>OnError</c>, never up a library thread (which would end the process).</summary>
[Collection(BrokerCollection.Name)]
public sealed class CallbackGuardTests(BrokerFixture broker) : MessagingTestBase(broker)
{
    [Fact]
    public async Task An_OnReturn_handler_that_throws_is_reported_and_the_channel_keeps_working()
    {
        var conn = await ConnectAsync();
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        conn.OnError((_, error) =>
        {
            if (error is AmqpCallbackException)
            {
                reported.TrySetResult(error);
            }

            return ValueTask.CompletedTask;
        });
        var x = NewExchange("return-throws");
        await using var ch = await conn.AllocateChannelAsync(cancellationToken: Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        int calls = 0;
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ch.OnReturn(r =>
        {
            if (Interlocked.Increment(ref calls) == 2)
            {
                second.TrySetResult();
            }

            throw new InvalidOperationException("handler bug");
        });

        await ch.PublishAsync(x, "nowhere", Utf8("1"), mandatory: true, cancellationToken: Ct);
        var error = Assert.IsType<AmqpCallbackException>(await reported.Task.WaitAsync(Ct));
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Contains("OnReturn", error.Callback, StringComparison.Ordinal);

        await ch.PublishAsync(x, "nowhere", Utf8("2"), mandatory: true, cancellationToken: Ct);
        await second.Task.WaitAsync(Ct);
        await ch.ExchangeDeclareAsync(x, ExchangeType.Direct, cancellationToken: Ct);
        Assert.True(ch.IsOpen);
        Assert.True(conn.IsConnected);
    }
}
