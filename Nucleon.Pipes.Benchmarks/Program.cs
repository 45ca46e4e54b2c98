// Nucleon.Pipes.Benchmarks entry point.
//   micro [BenchmarkDotNet args, e.g. --filter *]   micro-benchmarks (in-process toolchain, MemoryDiagnoser)
//   nullbroker [--port N]                            the null broker as a stand-alone process
//   e2e [--target null|broker] [--quick] [--uri amqp://...] [--runs N] [--only w1,w2]
using BenchmarkDotNet.Running;
using Nucleon.Pipes.Benchmarks.E2E;
using Nucleon.Pipes.Benchmarks.Micro;
using Nucleon.Pipes.Benchmarks.NullBroker;

string mode = args.Length > 0 ? args[0] : "help";
string[] rest = args.Length > 0 ? args[1..] : [];
switch (mode)
{
    case "micro":
        BenchmarkSwitcher.FromAssembly(typeof(MicroConfig).Assembly).Run(rest.Length == 0 ? ["--filter", "*"] : rest, new MicroConfig());
        return 0;
    case "nullbroker":
        return await NullBrokerServer.MainAsync(rest);
    case "e2e":
        return await E2ERunner.MainAsync(rest);
    default:
        Console.WriteLine("usage: Nucleon.Pipes.Benchmarks micro [--filter *] | nullbroker [--port N] | e2e [--target null|broker] [--quick] [--uri amqp://...] [--runs N] [--only publish,consume,...]");
        return mode == "help" ? 0 : 2;
}
