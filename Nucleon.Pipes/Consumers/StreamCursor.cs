namespace Nucleon.Pipes.Consumers;

/// <summary>
/// Where a connection-level consumer of a stream resumes after a reconnect: at the first offset it
/// handed out and has not settled yet, or just after the last one when all were settled. Settlements
/// may come in any order (several handlers at once), so it keeps the offsets handed out and not yet
/// passed by, in order; the prefetch bounds how many are unsettled.
/// </summary>
internal sealed class StreamCursor(long? resumeAt)
{
    private const string OffsetHeader = "x-stream-offset";

    private readonly Lock _sync = new();
    private long[] _offsets = new long[16];
    private bool[] _settled = new bool[16];
    private long _head; // sequence of the oldest entry kept
    private long _tail; // sequence of the next entry
    private long? _resumeAt = resumeAt;

    /// <summary>The offset to subscribe from next time, or null when nothing was handed out or given at the start.</summary>
    public long? ResumeAt
    {
        get
        {
            lock (_sync)
            {
                return _head != _tail ? _offsets[_head & (_offsets.Length - 1)] : _resumeAt;
            }
        }
    }

    /// <summary>Consume loop: <paramref name="delivery"/> is being handed out.</summary>
    public void Yielded(Delivery delivery)
    {
        if (OffsetOf(delivery.Properties.Headers) is not { } offset)
        {
            return;
        }

        lock (_sync)
        {
            if (_tail - _head == _offsets.Length)
            {
                Grow();
            }

            long slot = _tail & (_offsets.Length - 1);
            _offsets[slot] = offset;
            _settled[slot] = false;
            delivery.CursorSequence = _tail++;
            delivery.Cursor = this;
        }
    }

    /// <summary>Any thread: <paramref name="delivery"/> (and with <paramref name="multiple"/> every earlier one) was settled.</summary>
    public void Settled(Delivery delivery, bool multiple)
    {
        lock (_sync)
        {
            long sequence = delivery.CursorSequence;
            if (sequence < _head || sequence >= _tail)
            {
                return;
            }

            for (long s = multiple ? _head : sequence; s <= sequence; s++)
            {
                _settled[s & (_offsets.Length - 1)] = true;
            }

            while (_head != _tail && _settled[_head & (_offsets.Length - 1)])
            {
                _resumeAt = _offsets[_head & (_offsets.Length - 1)] + 1;
                _head++;
            }
        }
    }

    /// <summary>The <c>x-stream-offset</c> header RabbitMQ puts on each delivery from a stream.</summary>
    public static long? OffsetOf(IDictionary<string, object?>? headers) =>
        headers is not null && headers.TryGetValue(OffsetHeader, out var value) ? value switch
        {
            long l => l,
            int i => i,
            _ => null,
        } : null;

    private void Grow()
    {
        var offsets = new long[_offsets.Length * 2];
        var settled = new bool[_offsets.Length * 2];
        for (long s = _head; s < _tail; s++)
        {
            offsets[s & (offsets.Length - 1)] = _offsets[s & (_offsets.Length - 1)];
            settled[s & (offsets.Length - 1)] = _settled[s & (_offsets.Length - 1)];
        }

        _offsets = offsets;
        _settled = settled;
    }
}
