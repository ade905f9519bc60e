using System.Diagnostics;
using BenchmarkDotNet.Running;
using QrCalling.Benchmarks;

// Run: dotnet run -c Release --project tests/QrCalling.Benchmarks -- --filter '*' --job short --inProcess
// On a busy machine, `-- --interleaved` measures the scan/baseline ratio with the two loops alternating in short
// rounds, so both see the same load; it prints the median ratio of 21 rounds.
if (args is ["--interleaved"])
{
    foreach (var peppered in new[] { false, true })
    {
        var bench = new CoreBenchmarks { Peppered = peppered };
        bench.Setup();
        var ratios = new Dictionary<string, List<double>> { ["preview"] = [], ["counted"] = [] };
        for (var round = 0; round < 21; round++)
        {
            var baseline = Time(() => bench.Baseline());
            ratios["preview"].Add(Time(() => bench.ScanPreview()) / baseline);
            ratios["counted"].Add(Time(() => bench.ScanCounted()) / baseline);
        }
        bench.Cleanup();
        foreach (var (name, list) in ratios)
        {
            list.Sort();
            Console.WriteLine($"peppered={peppered} scan {name} / baseline: median {list[list.Count / 2]:F2} (min {list[0]:F2}, max {list[^1]:F2})");
        }
    }
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

static double Time(Func<bool> operation)
{
    const int Operations = 50_000;
    var watch = Stopwatch.StartNew();
    for (var i = 0; i < Operations; i++)
    {
        operation();
    }
    return watch.Elapsed.TotalNanoseconds / Operations;
}
