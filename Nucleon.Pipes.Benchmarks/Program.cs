// Nucleon.Pipes.Benchmarks entry point.
//   micro [BenchmarkDotNet args, e.g. --filter *]   micro-benchmarks (in-process toolchain, MemoryDiagnoser)
//   nullbroker [--port N]                            the null broker as a stand-alone process
//   e2e [--target null|broker] [--null-server c|dotnet] [--quick] [--uri amqp://...] [--runs N] [--only w1,w2]
//   scale [--quick] [--uri amqp://...]              memory per channel/connection, 1,000 publishers, idle CPU
//   coldstart [--r2r DIR] [--runs N]                first run of each workload in fresh processes (see scripts/cold-start.sh)
//   scaling [--quick|--smoke] [--uri amqp://...]    1 to 1,000 channels, 1 to 16 connections: msgs/s and fairness where the bytes arrive
using BenchmarkDotNet.Running;
using Nucleon.Pipes.Benchmarks.ColdStart;
using Nucleon.Pipes.Benchmarks.E2E;
using Nucleon.Pipes.Benchmarks.Micro;
using Nucleon.Pipes.Benchmarks.NullBroker;
using Nucleon.Pipes.Benchmarks.Scale;

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
    case "scale":
        return await ScaleRunner.MainAsync(rest);
    case "coldstart":
        return await ColdStartRunner.MainAsync(rest);
    case "scaling":
        return await ScalingRunner.MainAsync(rest);
    default:
        Console.WriteLine("usage: Nucleon.Pipes.Benchmarks micro [--filter *] | nullbroker [--port N] | e2e [--target null|broker] [--null-server c|dotnet] [--quick] [--uri amqp://...] [--runs N] [--only publish,consume,...] | scale [--quick] [--uri amqp://...] | scaling [--quick|--smoke] [--runs N] [--messages N] [--uri amqp://...] [--null-only|--broker-only] [--out DIR] | coldstart [--r2r DIR] [--runs N] [--only a,b] [--out DIR]");
        return mode == "help" ? 0 : 2;
}
