using Microsoft.Extensions.ObjectPool;
using Nucleon.Pipes.Connection;
using Nucleon.Pipes.Diagnostics.Logging;

namespace Nucleon.Pipes.Channels;

/// <summary>
/// The rental pools of one connection generation: one for plain channels, one for confirm-mode
/// channels (a channel cannot leave confirm mode, so the two never mix). A channel handed back
/// provably clean is reused without a channel.open round trip; one that saw an error, changed
/// channel-wide state, still has consumers, unsettled deliveries, unconfirmed or nacked publishes,
/// an OnReturn handler, or belongs to an older connection is closed instead (see
/// <see cref="ChannelHygiene"/>). A channel whose last renter sent commands without a reply is
/// synced (one round trip) before the next renter gets it. The pools are bounded: channels beyond
/// the bound are closed when returned.
/// </summary>
internal sealed class ChannelPool
{
    private readonly ConnectionSession _session;
    private readonly ObjectPool<ChannelCore> _plain;
    private readonly ObjectPool<ChannelCore> _confirming;

    public ChannelPool(ConnectionSession session)
    {
        _session = session;
        var provider = new DefaultObjectPoolProvider { MaximumRetained = Math.Max(1, session.Options.ChannelPoolSize) };
        _plain = provider.Create(new Policy(session, ChannelOptions.Default));
        _confirming = provider.Create(new Policy(session, new ChannelOptions { PublisherConfirms = true }));
    }

    public async ValueTask<ChannelCore> RentAsync(ChannelOptions options, CancellationToken cancellationToken)
    {
        var pool = options.PublisherConfirms ? _confirming : _plain;
        while (true)
        {
            // Taken before Get(), so a channel freed in between is not missed.
            var available = _session.ChannelAvailable;

            // Create() runs inside Get() when the pool is empty: it yields a new, unopened channel.
            // When every channel number is in use, wait for a channel to be returned or freed.
            ChannelCore core;
            try
            {
                core = pool.Get();
            }
            catch (ChannelsExhaustedException)
            {
                await available.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (core.IsReusable)
            {
                if (!core.Hygiene.Unsynced)
                {
                    return core;
                }

                // The last renter's publishes or acks may still earn an asynchronous channel error (a 404
                // for a missing exchange): one round trip proves they did not, before this renter gets it.
                try
                {
                    await core.SyncAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (AmqpException ex)
                {
                    PooledChannelDiscard.Log(core, $"the round trip that proves the last renter's commands were taken failed: {ex.Message}");
                    core.Discard();
                    continue;
                }
                catch
                {
                    core.Discard();
                    throw;
                }

                if (core.IsReusable)
                {
                    return core;
                }
            }

            if (core.IsNew)
            {
                try
                {
                    await core.OpenAsync(cancellationToken).ConfigureAwait(false);
                    return core;
                }
                catch
                {
                    core.Discard();
                    throw;
                }
            }

            // Went bad while pooled (e.g. the broker closed it): drop it and take another.
            PooledChannelDiscard.Log(core);
            core.Discard();
        }
    }

    /// <summary>Back into the pool if healthy, else closed. Never throws.</summary>
    public void Return(ChannelCore core)
    {
        var pool = core.Options.PublisherConfirms ? _confirming : _plain;
        pool.Return(core);
        _session.SignalChannelAvailable();
    }

    private sealed class Policy(ConnectionSession session, ChannelOptions options) : IPooledObjectPolicy<ChannelCore>
    {
        public ChannelCore Create() => session.CreateChannel(options);

        public bool Return(ChannelCore obj)
        {
            if (obj.IsReusable)
            {
                return true;
            }

            PooledChannelDiscard.Log(obj);
            return false;
        }
    }
}
