using QrCalling.SampleHost;

return await SampleHostApp.RunAsync(args, Console.Error);

/// <summary>Entry point, public for WebApplicationFactory.</summary>
public partial class Program;
