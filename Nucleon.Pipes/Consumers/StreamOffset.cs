namespace Nucleon.Pipes;

/// <summary>
/// Where a consumer of a stream queue (<c>x-queue-type: stream</c>) starts reading: sent as the
/// <c>x-stream-offset</c> argument of basic.consume (see <see cref="ConsumeOptions.StreamOffset"/>).
/// </summary>
public sealed class StreamOffset
{
    private StreamOffset(object value, string description)
    {
        Value = value;
        Description = description;
    }

    /// <summary>From the first message still in the stream.</summary>
    public static StreamOffset First { get; } = new("first", "first");

    /// <summary>From the last chunk of messages written (RabbitMQ starts at the chunk's first message).</summary>
    public static StreamOffset Last { get; } = new("last", "last");

    /// <summary>Only messages written after the subscription (the broker's default).</summary>
    public static StreamOffset Next { get; } = new("next", "next");

    /// <summary>From the message at <paramref name="offset"/> (as <see cref="Message.StreamOffset"/> shows it), or the first one after it still in the stream.</summary>
    public static StreamOffset At(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return new StreamOffset(offset, offset.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>From the first chunk written at or after <paramref name="time"/> (whole seconds).</summary>
    public static StreamOffset From(DateTimeOffset time)
    {
        var timestamp = AmqpTimestamp.FromDateTimeOffset(time);
        return new StreamOffset(timestamp, timestamp.ToString());
    }

    /// <summary>The numeric offset, for an offset made with <see cref="At"/>.</summary>
    public long? Offset => Value is long offset ? offset : null;

    /// <summary>The value of the <c>x-stream-offset</c> argument: "first", "last", "next", a long or a timestamp.</summary>
    internal object Value { get; }

    private string Description { get; }

    /// <summary>The basic.consume arguments of <paramref name="options"/>, with its stream offset added.</summary>
    internal static IDictionary<string, object?>? ConsumeArguments(ConsumeOptions options)
    {
        if (options.StreamOffset is not { } offset)
        {
            return options.Arguments;
        }

        var arguments = options.Arguments is null ? [] : new Dictionary<string, object?>(options.Arguments);
        arguments["x-stream-offset"] = offset.Value;
        return arguments;
    }

    /// <inheritdoc/>
    public override string ToString() => Description;
}
