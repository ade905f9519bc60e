var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/", () => "QrCalling sample host (work in progress)");
app.Run();

/// <summary>Entry point, public for WebApplicationFactory.</summary>
public partial class Program;
