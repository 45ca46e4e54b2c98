using System.Diagnostics;
using System.Text;

namespace Nucleon.Pipes.Diagnostics.Tracing;

/// <summary>
/// W3C trace context (and baggage) in message headers, through <see cref="DistributedContextPropagator.Current"/>.
/// Injection writes into a copy: the caller's <see cref="BasicProperties"/> and headers dictionary may be
/// shared by other publishes, so they are never changed in place.
/// </summary>
internal static class TraceContextHeaders
{
    /// <summary>The properties to send: a copy of <paramref name="properties"/> whose headers carry <paramref name="activity"/>'s context.</summary>
    public static BasicProperties Inject(Activity activity, BasicProperties? properties)
    {
        properties ??= BasicProperties.Empty;
        var headers = properties.Headers is { } original
            ? new Dictionary<string, object?>(original, StringComparer.Ordinal)
            : new Dictionary<string, object?>(StringComparer.Ordinal);
        DistributedContextPropagator.Current.Inject(activity, headers, static (carrier, name, value) =>
        {
            if (carrier is Dictionary<string, object?> h)
            {
                h[name] = value;
            }
        });
        return properties with { Headers = headers };
    }

    /// <summary>The producer's context from a received message's headers; false when there is none (or it is malformed).</summary>
    public static bool TryExtract(IDictionary<string, object?>? headers, out ActivityContext context, out IEnumerable<KeyValuePair<string, string?>>? baggage)
    {
        context = default;
        baggage = null;
        if (headers is null || headers.Count == 0)
        {
            return false;
        }

        var propagator = DistributedContextPropagator.Current;
        propagator.ExtractTraceIdAndState(headers, Getter, out var traceParent, out var traceState);
        if (traceParent is null || !ActivityContext.TryParse(traceParent, traceState, isRemote: true, out context))
        {
            return false;
        }

        baggage = propagator.ExtractBaggage(headers, Getter);
        return true;
    }

    // RabbitMQ.Client and most clients write the fields as long strings: this client reads a valid UTF-8 one as
    // a string, others (or a client that wrote bytes) give byte[].
    private static void Getter(object? carrier, string name, out string? value, out IEnumerable<string>? values)
    {
        values = null;
        value = carrier is IDictionary<string, object?> headers && headers.TryGetValue(name, out var raw)
            ? raw switch
            {
                string s => s,
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                _ => null,
            }
            : null;
    }
}
