Console.WriteLine("QrCalling benchmarks: work in progress");
