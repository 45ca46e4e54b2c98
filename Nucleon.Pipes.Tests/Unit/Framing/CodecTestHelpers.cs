using Nucleon.Pipes.Framing;

namespace Nucleon.Pipes.Tests.Unit.Framing;

internal static class CodecTestHelpers
{
    /// <summary>Parses hex written by hand, ignoring spaces.</summary>
    public static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    public static byte[] EncodeTable(IDictionary<string, object?>? table)
    {
        int size = FieldTableCodec.GetSize(table);
        var buffer = new byte[size];
        var encoder = new AmqpEncoder(buffer);
        FieldTableCodec.Write(ref encoder, table);
        Assert.Equal(size, encoder.Position);
        return buffer;
    }

    public static Dictionary<string, object?> DecodeTable(byte[] bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        var table = FieldTableCodec.Read(ref decoder, depth: 0);
        Assert.Equal(0, decoder.Remaining);
        return table;
    }

    public static byte[] EncodeValue(object? value)
    {
        int size = FieldTableCodec.GetValueSize(value);
        var buffer = new byte[size];
        var encoder = new AmqpEncoder(buffer);
        FieldTableCodec.WriteValue(ref encoder, value);
        Assert.Equal(size, encoder.Position);
        return buffer;
    }

    public static object? DecodeValue(byte[] bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        object? value = FieldTableCodec.ReadValue(ref decoder, depth: 0);
        Assert.Equal(0, decoder.Remaining);
        return value;
    }

    public static byte[] EncodeProperties(BasicProperties? properties)
    {
        int size = BasicPropertiesCodec.GetSize(properties);
        var buffer = new byte[size];
        var encoder = new AmqpEncoder(buffer);
        BasicPropertiesCodec.Write(ref encoder, properties);
        Assert.Equal(size, encoder.Position);
        return buffer;
    }

    public static BasicProperties DecodeProperties(byte[] bytes)
    {
        var decoder = new AmqpDecoder(bytes);
        var properties = BasicPropertiesCodec.Read(ref decoder);
        Assert.Equal(0, decoder.Remaining);
        return properties;
    }
}
