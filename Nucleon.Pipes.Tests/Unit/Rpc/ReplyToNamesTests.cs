using System.Text;
using Nucleon.Pipes.Rpc;

namespace Nucleon.Pipes.Tests.Unit.Rpc;

/// <summary>The RPC server's reply-to names: made once per name, never confused, and more names than it keeps still work.</summary>
public sealed class ReplyToNamesTests
{
    [Fact]
    public void A_name_seen_before_is_the_same_string_and_costs_nothing()
    {
        var names = new ReplyToNames();
        byte[] bytes = Encoding.UTF8.GetBytes("amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxMjM0NTY3OAAAAAAAAAAB");
        string first = names.Get(bytes);
        Assert.Equal("amq.rabbitmq.reply-to.g1h2AA5yZXBseUAxMjM0NTY3OAAAAAAAAAAB", first);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1_000; i++)
        {
            Assert.Same(first, names.Get(bytes));
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Many_names_in_turn_each_come_back_as_themselves()
    {
        var names = new ReplyToNames();
        var all = Enumerable.Range(0, 20).Select(i => $"reply-{i}-ü").ToArray();
        for (int round = 0; round < 3; round++)
        {
            foreach (var name in all)
            {
                Assert.Equal(name, names.Get(Encoding.UTF8.GetBytes(name)));
            }
        }

        // A name that is a prefix of another is not taken for it.
        Assert.Equal("reply-1", names.Get("reply-1"u8));
        Assert.Equal("reply-1-ü", names.Get(Encoding.UTF8.GetBytes("reply-1-ü")));
    }

    [Fact]
    public void Workers_looking_up_names_at_once_each_get_the_name_they_asked_for()
    {
        var names = new ReplyToNames();
        var all = Enumerable.Range(0, 12).Select(i => Encoding.UTF8.GetBytes($"client-{i}")).ToArray();
        Parallel.For(0, 4, worker =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                var bytes = all[(i * (worker + 1)) % all.Length];
                Assert.Equal(Encoding.UTF8.GetString(bytes), names.Get(bytes));
            }
        });
    }
}
