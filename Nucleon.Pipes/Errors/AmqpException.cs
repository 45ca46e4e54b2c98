namespace Nucleon.Pipes;

/// <summary>Base class of every error that Nucleon.Pipes raises about AMQP.</summary>
public class AmqpException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AmqpException() { }

    /// <summary>Creates the exception with a message.</summary>
    public AmqpException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public AmqpException(string message, Exception? innerException) : base(message, innerException) { }
}
