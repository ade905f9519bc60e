Console.WriteLine("QrCalling load tool: work in progress");
