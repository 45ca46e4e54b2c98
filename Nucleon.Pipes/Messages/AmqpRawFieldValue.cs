namespace Nucleon.Pipes;

/// <summary>
/// A field table ('F') or field array ('A') nested deeper than this client decodes
/// (64 levels): kept as its encoded bytes instead of failing the message, and written back unchanged
/// when it is put into a field table.
/// </summary>
/// <param name="Tag">The field type octet: <c>'F'</c> or <c>'A'</c>.</param>
/// <param name="Encoded">The encoded entries or elements, without the 32-bit length that precedes them on the wire.</param>
public readonly record struct AmqpRawFieldValue(byte Tag, ReadOnlyMemory<byte> Encoded);
