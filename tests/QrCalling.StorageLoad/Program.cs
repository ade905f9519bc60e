Console.WriteLine("QrCalling storage load: work in progress");
