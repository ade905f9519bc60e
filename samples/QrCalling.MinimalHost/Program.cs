// The README's snippet: an app with its own owner accounts (JWT) adds QrCalling on PostgreSQL.
var builder = WebApplication.CreateBuilder(args);
builder.Services.AddAuthentication().AddJwtBearer();          // your own owner accounts
builder.Services.AddAuthorization();
builder.Services.AddQrCalling(o => o.Pepper = builder.Configuration["QrCalling:Pepper"])
    .UsePostgresStorage(o => o.ConnectionString = builder.Configuration.GetConnectionString("Postgres"));
var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapQrCalling();                                            // /api/v1/..., /hubs/calls, /health/*
app.Run();
