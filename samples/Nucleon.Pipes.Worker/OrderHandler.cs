using System.Text;
using Nucleon.Pipes.Hosting;

namespace Nucleon.Pipes.Worker;

/// <summary>The hosted consumer's handler: resolved in a new DI scope per message; returning acks it.</summary>
internal sealed class OrderHandler(Progress progress, ILogger<OrderHandler> logger) : IAmqpMessageHandler
{
    public async Task HandleAsync(AmqpMessageContext context, CancellationToken cancellationToken)
    {
        string order = Encoding.UTF8.GetString(context.Message.Body.Span);
        await Task.Delay(1, cancellationToken); // stands in for real work
        progress.OneHandled();
        if (progress.Handled % 250 == 0)
        {
            logger.LogInformation("handled {Count} orders (last: {Order})", progress.Handled, order);
        }
    }
}
