using System.Text;

namespace Nucleon.Pipes.Channels;

/// <summary>Checks of method arguments made before anything is encoded or sent, so a bad argument leaves the channel usable.</summary>
internal static class ArgumentChecks
{
    /// <summary>The longest AMQP short string (names, routing keys, consumer tags) in UTF-8 bytes.</summary>
    public const int MaxShortStringBytes = 255;

    /// <summary>A name carried as an AMQP short string: not null, at most 255 bytes of UTF-8.</summary>
    public static void ShortString(string? value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);

        // At most 3 UTF-8 bytes per UTF-16 char: short strings need no counting.
        if (value.Length > MaxShortStringBytes / 3 && Encoding.UTF8.GetByteCount(value) is var bytes and > MaxShortStringBytes)
        {
            throw new ArgumentException($"{paramName} is {bytes} bytes of UTF-8; AMQP allows at most {MaxShortStringBytes}.", paramName);
        }
    }

    /// <summary>
    /// An exchange type: direct, fanout, topic, headers or a plugin's x-... type; lower-case letters, digits,
    /// '.', '-', '_'. RabbitMQ answers an unknown type by closing the whole connection (503), so a typo is
    /// refused here; an x-... type is the plugin's to know.
    /// </summary>
    public static void ExchangeType(string? type, string paramName)
    {
        ShortString(type, paramName);
        if (type is not (Pipes.ExchangeType.Direct or Pipes.ExchangeType.Fanout or Pipes.ExchangeType.Topic or Pipes.ExchangeType.Headers)
            && !(type!.Length > 2 && type.StartsWith("x-", StringComparison.Ordinal)))
        {
            throw new ArgumentException(
                $"The exchange type \"{type}\" is not valid: use direct, fanout, topic, headers or a plugin's x-... type (RabbitMQ closes the connection on an unknown one).", paramName);
        }

        foreach (char c in type)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '-' or '_'))
            {
                throw new ArgumentException(
                    $"The exchange type \"{type}\" is not valid: types are lower-case letters, digits, '.', '-' and '_' (direct, fanout, topic, headers, x-...).", paramName);
            }
        }
    }

    /// <summary>The consumer tag of <paramref name="options"/>, when one is set.</summary>
    public static void ConsumeOptions(ConsumeOptions? options, string paramName)
    {
        if (options?.ConsumerTag is { } tag)
        {
            ShortString(tag, paramName + ".ConsumerTag");
        }

        if (options is { StreamOffset: not null } && (options.AutoAck || options.Prefetch == 0))
        {
            throw new ArgumentException("Consuming a stream needs manual acknowledgement and a prefetch above 0 (RabbitMQ refuses the subscription otherwise).", paramName);
        }
    }
}
