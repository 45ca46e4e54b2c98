using System.Text;
using Nucleon.Pipes.Tests.Infrastructure;

namespace Nucleon.Pipes.Tests.Integration.Rpc;

/// <summary>RPC over direct reply-to against the real broker: <see cref="AmqpRpcClient"/> and <see cref="RpcServing.ServeRpcAsync"/>.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RpcTests(BrokerFixture broker) : RpcTestBase(broker)
{
    [Fact]
    public async Task A_call_gets_the_servers_reply_with_its_properties()
    {
        var q = await DeclareQueueAsync(what: "rpc");
        _ = ServeAsync(q, (m, _) => ValueTask.FromResult(Reply(
            Encoding.UTF8.GetString(m.Body.Span).ToUpperInvariant(),
            new BasicProperties { ContentType = "text/plain", Headers = new Dictionary<string, object?> { ["asked-type"] = m.Properties.Type } })));
        await using var rpc = new AmqpRpcClient(Conn);

        using var reply = await rpc.CallAsync("", q, Utf8("hello"), new BasicProperties { Type = "greeting" }, cancellationToken: Ct);

        Assert.Equal("HELLO", Text(reply));
        Assert.Equal("text/plain", reply.Properties.ContentType);
        Assert.Equal("greeting", reply.Properties.Headers!["asked-type"]);
        Assert.False(string.IsNullOrEmpty(reply.Properties.CorrelationId));
        Assert.Equal(0, rpc.DroppedReplies);
    }

    [Fact]
    public async Task A_request_carries_the_callers_properties_and_a_plain_reply_shows_all_of_its_own()
    {
        // The request's reply-to and correlation id are written into its frame, the rest as the caller gave them;
        // a reply without headers reaches the client as bytes and is decoded only when read.
        var q = await DeclareQueueAsync(what: "rpc");
        var seen = new TaskCompletionSource<BasicProperties>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = ServeAsync(q, (m, _) =>
        {
            seen.TrySetResult(m.Properties);
            return ValueTask.FromResult(Reply("ok", new BasicProperties { ContentType = "text/plain", MessageId = "reply-1", Type = m.Properties.Type, Priority = 3 }));
        });
        await using var rpc = new AmqpRpcClient(Conn);

        using var reply = await rpc.CallAsync("", q, Utf8("hello"),
            new BasicProperties { Type = "greeting", AppId = "tests", CorrelationId = "the caller's, replaced", ReplyTo = "replaced too" }, cancellationToken: Ct);

        var request = await seen.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal("greeting", request.Type);
        Assert.Equal("tests", request.AppId);
        Assert.StartsWith("amq.rabbitmq.reply-to", request.ReplyTo, StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]+\\.[0-9a-f]+$", request.CorrelationId);
        Assert.Equal("ok", Text(reply));
        Assert.Equal(
            new BasicProperties { ContentType = "text/plain", MessageId = "reply-1", Type = "greeting", Priority = 3, CorrelationId = request.CorrelationId },
            reply.Properties);
        Assert.Equal(0, rpc.DroppedReplies);
    }

    [Fact]
    public async Task Many_calls_in_flight_on_one_client_each_get_their_own_reply_and_the_server_runs_at_most_its_concurrency()
    {
        const int calls = 400, callers = 64, concurrency = 8;
        var q = await DeclareQueueAsync(what: "rpc-many");
        int running = 0, peak = 0;
        _ = ServeAsync(q, async (m, ct) =>
        {
            int now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Delay(Random.Shared.Next(0, 4), ct);
            Interlocked.Decrement(ref running);
            return Reply("re:" + Encoding.UTF8.GetString(m.Body.Span));
        }, new RpcServerOptions { Concurrency = concurrency });
        await using var rpc = new AmqpRpcClient(Conn);

        int next = -1, matched = 0;
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                using var reply = await rpc.CallAsync("", q, Utf8($"request {i}"), cancellationToken: Ct);
                Assert.Equal($"re:request {i}", Text(reply));
                Interlocked.Increment(ref matched);
            }
        })));

        Assert.Equal(calls, matched);
        Assert.Equal(0, rpc.DroppedReplies);
        Assert.InRange(peak, 2, concurrency);
    }

    [Fact]
    public async Task A_caller_that_blocks_after_its_reply_does_not_hold_up_the_other_calls()
    {
        var q = await DeclareQueueAsync(what: "rpc-block");
        _ = ServeAsync(q, (m, _) => ValueTask.FromResult(Reply("re:" + Encoding.UTF8.GetString(m.Body.Span))), new RpcServerOptions { Concurrency = 2 });
        await using var rpc = new AmqpRpcClient(Conn);
        using var unblock = new ManualResetEventSlim();
        var blocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // No Task.Run: the code after the await runs wherever the reply hands over, and then blocks that thread.
        var blocker = BlockAfterReplyAsync();
        await blocked.Task.WaitAsync(Ct);
        try
        {
            using var other = await rpc.CallAsync("", q, Utf8("other"), cancellationToken: Ct);
            Assert.Equal("re:other", Text(other));
        }
        finally
        {
            unblock.Set();
        }

        await blocker.WaitAsync(Ct);

        async Task BlockAfterReplyAsync()
        {
            using var reply = await rpc.CallAsync("", q, Utf8("first"), cancellationToken: Ct);
            blocked.TrySetResult();
            unblock.Wait(Ct);
        }
    }

    [Fact]
    public async Task A_call_that_times_out_drops_its_late_reply_which_never_reaches_the_next_call()
    {
        var q = await DeclareQueueAsync(what: "rpc-late");
        var releaseSlow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseNext = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var nextArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = ServeAsync(q, async (m, ct) =>
        {
            string request = Encoding.UTF8.GetString(m.Body.Span);
            if (request == "slow")
            {
                await releaseSlow.Task.WaitAsync(ct);
            }
            else
            {
                nextArrived.TrySetResult();
                await releaseNext.Task.WaitAsync(ct);
            }

            return Reply("reply to " + request);
        }, new RpcServerOptions { Concurrency = 2 });
        await using var rpc = new AmqpRpcClient(Conn);

        await Assert.ThrowsAsync<TimeoutException>(async () => await rpc.CallAsync("", q, Utf8("slow"), timeout: TimeSpan.FromMilliseconds(300), cancellationToken: Ct));

        // The next call takes the pooled place of the one that timed out; the late reply comes while it waits.
        var next = rpc.CallAsync("", q, Utf8("next"), cancellationToken: Ct).AsTask();
        await nextArrived.Task.WaitAsync(Ct);
        releaseSlow.TrySetResult();
        await WaitForAsync(() => rpc.DroppedReplies == 1, "the late reply to be dropped");
        Assert.False(next.IsCompleted, "the late reply completed the next call");

        releaseNext.TrySetResult();
        using var reply = await next.WaitAsync(Ct);
        Assert.Equal("reply to next", Text(reply));
        Assert.Equal(1, rpc.DroppedReplies);
    }

    [Fact]
    public async Task A_cancelled_call_throws_at_once_and_its_late_reply_is_dropped()
    {
        var q = await DeclareQueueAsync(what: "rpc-cancel");
        var held = ServeHeld(q, "late");
        await using var rpc = new AmqpRpcClient(Conn);
        using var cancel = new CancellationTokenSource();

        var call = rpc.CallAsync("", q, Utf8("x"), cancellationToken: cancel.Token).AsTask();
        await held.FirstArrived.Task.WaitAsync(Ct);
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call.WaitAsync(Ct));
        Assert.Equal(cancel.Token, error.CancellationToken);

        held.Release.TrySetResult();
        await WaitForAsync(() => rpc.DroppedReplies == 1, "the late reply to be dropped");
    }

    [Fact]
    public async Task A_call_whose_token_fired_already_sends_nothing()
    {
        var q = await DeclareQueueAsync(what: "rpc-precancelled");
        await using var rpc = new AmqpRpcClient(Conn);
        var cancelled = new CancellationToken(canceled: true);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await rpc.CallAsync("", q, Utf8("before the channel"), cancellationToken: cancelled));

        // Nobody serves the queue: this call times out and its request stays there.
        await Assert.ThrowsAsync<TimeoutException>(async () => await rpc.CallAsync("", q, Utf8("sent"), timeout: TimeSpan.FromMilliseconds(200), cancellationToken: Ct));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await rpc.CallAsync("", q, Utf8("not sent"), cancellationToken: cancelled));

        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var only = await ch.GetAsync(q, autoAck: true, Ct);
        Assert.Equal("sent", Encoding.UTF8.GetString(only!.Value.Body.Span));
        Assert.Null(await ch.GetAsync(q, autoAck: true, Ct));
    }

    [Fact]
    public async Task A_request_that_no_queue_receives_comes_back_as_the_calls_error()
    {
        await using var rpc = new AmqpRpcClient(Conn);
        var properties = new BasicProperties { MessageId = "nobody-home" };

        var error = await Assert.ThrowsAsync<AmqpMessageReturnedException>(async () =>
            await rpc.CallAsync("", "nucleon.it.nobody." + Guid.NewGuid().ToString("N"), Utf8("x"), properties, cancellationToken: Ct));

        Assert.Equal(AmqpReplyCode.NoRoute, error.ReplyCode);
        Assert.Equal("nobody-home", error.Properties.MessageId);
    }

    [Fact]
    public async Task A_call_to_a_missing_exchange_fails_alone_and_the_calls_in_flight_get_their_replies()
    {
        var q = await DeclareQueueAsync(what: "rpc-404");
        var held = ServeHeld(q, "still here");
        await using var rpc = new AmqpRpcClient(Conn);
        var inFlight = rpc.CallAsync("", q, Utf8("x"), cancellationToken: Ct).AsTask();
        await held.FirstArrived.Task.WaitAsync(Ct);

        var error = await Assert.ThrowsAsync<AmqpChannelException>(async () =>
            await rpc.CallAsync("nucleon.it.missing." + Guid.NewGuid().ToString("N"), "rk", Utf8("x"), cancellationToken: Ct));
        Assert.Equal(AmqpReplyCode.NotFound, error.ReplyCode);

        held.Release.TrySetResult();
        using var reply = await inFlight.WaitAsync(Ct);
        Assert.Equal("still here", Text(reply));
    }

    [Fact]
    public async Task A_handler_that_throws_is_reported_the_request_is_dead_lettered_and_the_server_keeps_serving()
    {
        var q = await DeclareQueueAsync(what: "rpc-throws");
        var reported = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = await ConnectAsync();
        server.OnError((_, error) =>
        {
            if (error is AmqpCallbackException)
            {
                reported.TrySetResult(error);
            }

            return ValueTask.CompletedTask;
        });
        _ = ServeAsync(q, (m, _) => Encoding.UTF8.GetString(m.Body.Span) == "boom"
            ? throw new InvalidOperationException("handler bug")
            : ValueTask.FromResult(Reply("fine")), conn: server);
        await using var rpc = new AmqpRpcClient(Conn);

        await Assert.ThrowsAsync<TimeoutException>(async () => await rpc.CallAsync("", q, Utf8("boom"), timeout: TimeSpan.FromSeconds(1), cancellationToken: Ct));
        var error = Assert.IsType<AmqpCallbackException>(await reported.Task.WaitAsync(Ct));
        Assert.Equal("handler bug", error.InnerException!.Message);

        using var reply = await rpc.CallAsync("", q, Utf8("ok"), cancellationToken: Ct);
        Assert.Equal("fine", Text(reply));
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task The_server_answers_any_clients_request_at_its_reply_to_with_its_correlation_id_as_sent()
    {
        // Requests from clients other than this library's: ids of any length and text, empty, absent, and properties
        // with headers (decoded on arrival rather than read from their bytes). More reply-to names than the server keeps.
        var q = await DeclareQueueAsync(what: "rpc-foreign");
        var replyQueues = new List<string>();
        for (int i = 0; i < 10; i++)
        {
            replyQueues.Add(await DeclareQueueAsync(what: $"rpc-foreign-replies-{i}"));
        }

        _ = ServeAsync(q, (m, _) => ValueTask.FromResult(Reply(Text(m), new BasicProperties { CorrelationId = "the handler's own", Type = "answer", ReplyTo = "kept" })));
        var requests = new List<(string Body, string ReplyTo, string? CorrelationId, bool Headers)>
        {
            ("plain", replyQueues[0], "id-1", false),
            ("longest", replyQueues[1], new string('x', 255), false),
            ("utf8", replyQueues[2], "ïd-ü", false),
            ("empty", replyQueues[3], "", false),
            ("headers", replyQueues[4], "id-h", true),
            ("none", replyQueues[5], null, false),
        };
        for (int i = 0; i < 20; i++)
        {
            requests.Add(($"turn-{i}", replyQueues[(i * 7) % replyQueues.Count], $"turn-{i}", i % 5 == 0));
        }

        foreach (var (body, replyTo, id, headers) in requests)
        {
            await PublishConfirmedAsync("", q, body, new BasicProperties
            {
                ReplyTo = replyTo,
                CorrelationId = id,
                Headers = headers ? new Dictionary<string, object?> { ["x"] = 1 } : null,
            });
        }

        var got = System.Threading.Channels.Channel.CreateUnbounded<(string Queue, string Body, BasicProperties Properties)>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var ch = await Conn.AllocateChannelAsync(cancellationToken: Ct);
        var readers = replyQueues.Select(queue => Task.Run(async () =>
        {
            await foreach (var m in ch.ConsumeAsync(queue, new ConsumeOptions { AutoAck = true }, stop.Token))
            {
                got.Writer.TryWrite((queue, Text(m), m.Properties));
            }
        })).ToArray();

        var replies = new Dictionary<string, (string Queue, BasicProperties Properties)>();
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            deadline.CancelAfter(TimeSpan.FromSeconds(30));
            while (replies.Count < requests.Count)
            {
                var (queue, body, properties) = await got.Reader.ReadAsync(deadline.Token);
                Assert.True(replies.TryAdd(body, (queue, properties)), $"a second reply to {body}");
            }
        }

        foreach (var (body, replyTo, id, _) in requests)
        {
            Assert.Equal(replyTo, replies[body].Queue);
            Assert.Equal(new BasicProperties { CorrelationId = id, Type = "answer", ReplyTo = "kept" }, replies[body].Properties);
        }

        await stop.CancelAsync();
        await Task.WhenAll(readers).ContinueWith(_ => { }, TaskScheduler.Default).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_request_without_reply_to_is_handled_and_acked()
    {
        var q = await DeclareQueueAsync(what: "rpc-noreply");
        var handled = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = ServeAsync(q, (m, _) =>
        {
            handled.TrySetResult(Encoding.UTF8.GetString(m.Body.Span));
            return ValueTask.FromResult(Reply("nobody asked"));
        });

        await PublishConfirmedAsync("", q, "fire and forget");

        Assert.Equal("fire and forget", await handled.Task.WaitAsync(Ct));
        await using var rpc = new AmqpRpcClient(Conn);
        using var reply = await rpc.CallAsync("", q, Utf8("and now?"), cancellationToken: Ct);
        Assert.Equal("nobody asked", Text(reply));
        Assert.Equal(0u, await ReadyCountAsync(q));
    }

    [Fact]
    public async Task Disposing_the_client_fails_its_calls_in_flight_and_refuses_new_ones()
    {
        var q = await DeclareQueueAsync(what: "rpc-dispose");
        var held = ServeHeld(q, "never sent");
        var rpc = new AmqpRpcClient(Conn);
        var pending = rpc.CallAsync("", q, Utf8("x"), cancellationToken: Ct).AsTask();
        await held.FirstArrived.Task.WaitAsync(Ct);

        await rpc.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(Ct));
        ThrowsBeforeSending<ObjectDisposedException>(() => rpc.CallAsync("", q, Utf8("y"), cancellationToken: Ct).AsTask());
        Assert.True(Conn.IsConnected);
    }

    [Fact]
    public async Task Bad_arguments_are_refused_before_anything_is_sent()
    {
        await using var rpc = new AmqpRpcClient(Conn);
        ThrowsBeforeSending<ArgumentOutOfRangeException>(() => rpc.CallAsync("", "q", Utf8("x"), timeout: TimeSpan.Zero, cancellationToken: Ct).AsTask());
        ThrowsBeforeSending<ArgumentException>(() => rpc.CallAsync("", new string('q', 300), Utf8("x"), cancellationToken: Ct).AsTask());
        Assert.Throws<ArgumentOutOfRangeException>(() => new AmqpRpcClient(Conn, new RpcClientOptions { Timeout = TimeSpan.FromSeconds(-2) }));
        ThrowsBeforeSending<ArgumentOutOfRangeException>(() => Conn.ServeRpcAsync("q", (_, _) => default, new RpcServerOptions { Concurrency = 0 }));
    }

    // Refused by the call itself (before a task exists), not by a task that fails later.
    private static void ThrowsBeforeSending<T>(Func<Task> call) where T : Exception
    {
        try
        {
            _ = call();
        }
        catch (T)
        {
            return;
        }

        Assert.Fail($"expected {typeof(T).Name} before anything was sent");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    private async Task WaitForAsync(Func<bool> condition, string what)
    {
        while (!condition())
        {
            Assert.False(Ct.IsCancellationRequested, $"timed out waiting for {what}");
            await Task.Delay(20, CancellationToken.None);
        }
    }
}
