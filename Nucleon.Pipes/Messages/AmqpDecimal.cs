using System.Globalization;
using System.Numerics;

namespace Nucleon.Pipes;

/// <summary>
/// An AMQP decimal field value exactly as it was on the wire: value = <see cref="Mantissa"/> × 10^-<see cref="Scale"/>.
/// Header values decode to <see cref="decimal"/> when it holds them exactly (a scale up to 28); a decimal
/// with more places, which <see cref="decimal"/> cannot hold, decodes to this instead of failing, and
/// writes back unchanged when it is put into a field table.
/// </summary>
/// <param name="Scale">Number of decimal places (0-255).</param>
/// <param name="Mantissa">The unscaled value, a signed 32-bit integer (two's complement, as the Java, Go and pika clients write it).</param>
public readonly record struct AmqpDecimal(byte Scale, int Mantissa)
{
    /// <summary>The value as a <see cref="decimal"/>, when it holds it exactly (a scale up to 28).</summary>
    public bool TryGetDecimal(out decimal value)
    {
        if (Scale > 28)
        {
            value = default;
            return false;
        }

        bool negative = Mantissa < 0;
        uint magnitude = negative ? unchecked((uint)-(long)Mantissa) : (uint)Mantissa;
        value = new decimal(unchecked((int)magnitude), 0, 0, negative, Scale);
        return true;
    }

    /// <summary>The nearest <see cref="double"/> (0 when the scale makes the value smaller than a double can show).</summary>
    public double ToDouble() => Mantissa / Math.Pow(10, Scale);

    /// <summary>The exact value in plain invariant notation, e.g. <c>-0.000…0015</c>.</summary>
    public override string ToString()
    {
        string digits = BigInteger.Abs(Mantissa).ToString(CultureInfo.InvariantCulture);
        if (Scale > 0)
        {
            digits = digits.PadLeft(Scale + 1, '0');
            digits = string.Concat(digits.AsSpan(0, digits.Length - Scale), ".", digits.AsSpan(digits.Length - Scale));
        }

        return Mantissa < 0 ? "-" + digits : digits;
    }
}
