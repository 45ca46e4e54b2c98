namespace Nucleon.Pipes.Framing;

// STUB: to be replaced by the full codec (see the field-table work item).
internal static class FieldTableCodec
{
    public static int GetSize(IDictionary<string, object?>? table) => 4;

    public static void Write(ref AmqpEncoder encoder, IDictionary<string, object?>? table) => encoder.WriteLong(0);

    public static IDictionary<string, object?> Read(ref AmqpDecoder decoder, int depth)
    {
        var bytes = decoder.ReadLongStringBytes();
        _ = bytes;
        return new Dictionary<string, object?>();
    }
}
