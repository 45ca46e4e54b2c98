using Nucleon.Pipes.Hosting.Connections;

namespace Nucleon.Pipes.Hosting.Publishing;

/// <summary>The <see cref="IAmqpPublisher"/> of one hosted connection.</summary>
internal sealed class AmqpPublisher(AmqpConnectionHost host) : IAmqpPublisher
{
    private static readonly ChannelOptions Confirming = new() { PublisherConfirms = true };

    public async Task PublishAsync(string exchange, string routingKey, ReadOnlyMemory<byte> body, BasicProperties? properties = null,
        bool mandatory = false, CancellationToken cancellationToken = default)
    {
        host.Publishes.Enter();
        try
        {
            var channel = await host.Connection.RentChannelAsync(Confirming, cancellationToken).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                await channel.PublishAsync(exchange, routingKey, body, properties, mandatory, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            host.Publishes.Exit();
        }
    }
}
