namespace Nucleon.Pipes;

/// <summary>
/// An application callback (an <c>OnReturn</c> handler, for example) threw. The connection and the
/// channel carry on; the callback's exception is the <see cref="Exception.InnerException"/>, and
/// this exception is reported to the connection's <c>OnError</c> handlers.
/// </summary>
public sealed class AmqpCallbackException : AmqpException
{
    /// <summary>Creates the exception for the callback named <paramref name="callback"/>.</summary>
    public AmqpCallbackException(string callback, Exception innerException)
        : base($"The application's {callback} threw {innerException?.GetType().Name}: {innerException?.Message}", innerException) =>
        Callback = callback;

    /// <summary>Which callback threw (e.g. "OnReturn handler on channel 3").</summary>
    public string Callback { get; }
}
