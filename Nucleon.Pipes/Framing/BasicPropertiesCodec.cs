namespace Nucleon.Pipes.Framing;

// STUB: to be replaced by the full codec (see the field-table work item).
internal static class BasicPropertiesCodec
{
    /// <summary>Size of the property flags and property list.</summary>
    public static int GetSize(BasicProperties? properties) => 2;

    /// <summary>Writes the property flags and property list.</summary>
    public static void Write(ref AmqpEncoder encoder, BasicProperties? properties) => encoder.WriteShort(0);

    /// <summary>Reads the property flags and list; returns <see cref="BasicProperties.Empty"/> when no flag is set.</summary>
    public static BasicProperties Read(ref AmqpDecoder decoder)
    {
        decoder.ReadShort();
        return BasicProperties.Empty;
    }
}
