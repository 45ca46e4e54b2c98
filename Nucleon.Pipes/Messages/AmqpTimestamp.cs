namespace Nucleon.Pipes;

/// <summary>An AMQP timestamp: whole seconds since the Unix epoch, 64 bits unsigned on the wire.</summary>
/// <param name="UnixSeconds">Seconds since 1970-01-01T00:00:00Z.</param>
public readonly record struct AmqpTimestamp(ulong UnixSeconds)
{
    /// <summary>Converts a point in time, dropping fractions of a second. Times before 1970 are refused.</summary>
    public static AmqpTimestamp FromDateTimeOffset(DateTimeOffset value)
    {
        long seconds = value.ToUnixTimeSeconds();
        ArgumentOutOfRangeException.ThrowIfNegative(seconds, nameof(value));
        return new AmqpTimestamp((ulong)seconds);
    }

    /// <summary>The timestamp as a <see cref="DateTimeOffset"/> in UTC.</summary>
    public DateTimeOffset ToDateTimeOffset() =>
        UnixSeconds > (ulong)DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? DateTimeOffset.MaxValue
            : DateTimeOffset.FromUnixTimeSeconds((long)UnixSeconds);

    /// <inheritdoc/>
    public override string ToString() => ToDateTimeOffset().ToString("O", System.Globalization.CultureInfo.InvariantCulture);
}
