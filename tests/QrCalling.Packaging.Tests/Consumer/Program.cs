// A user's app: its own owner accounts (JWT), QrCalling from the packages on PostgreSQL or Redis, and a whole call
// through the public API (REST and the hub) with the .NET SignalR client. Usage: Consumer <connection string>.
// Prints "call completed" and exits 0 when the call went through; any failure throws (exit code != 0).
using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

var connectionString = args.Length == 1 ? args[0] : throw new ArgumentException("Usage: Consumer <connection string>");
var signingKey = new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32));

var builder = WebApplication.CreateBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.TokenValidationParameters = new TokenValidationParameters
    {
        ValidIssuer = "consumer",
        ValidAudience = "consumer",
        IssuerSigningKey = signingKey,
    };
    o.Events = new JwtBearerEvents
    {
        // The hub's owners pass their JWT as ?access_token=; QrCalling's own call tokens (qct_) and tickets (qht_) are not JWTs.
        OnMessageReceived = context =>
        {
            string? token = context.Request.Query["access_token"];
            if (!string.IsNullOrEmpty(token) && context.Request.Path.StartsWithSegments("/hubs") && !token.StartsWith("qct_") && !token.StartsWith("qht_"))
            {
                context.Token = token;
            }
            return Task.CompletedTask;
        },
    };
});
builder.Services.AddAuthorization();
var qrCalling = builder.Services.AddQrCalling(o =>
{
    o.Pepper = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    o.PublicBaseUrl = "https://call.example.org/c";
});
#if STORAGE_REDIS
qrCalling.UseRedisStorage(o => o.Configuration = connectionString);
#else
qrCalling.UsePostgresStorage(o => o.ConnectionString = connectionString);
#endif
await using var app = builder.Build();
app.UseAuthentication();
app.UseAuthorization();
app.MapQrCalling();
await app.StartAsync();
var baseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

var ownerToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
{
    Issuer = "consumer",
    Audience = "consumer",
    Subject = new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "owner-" + Guid.NewGuid().ToString("N"))]),
    Expires = DateTime.UtcNow.AddMinutes(5),
    SigningCredentials = new SigningCredentials(signingKey, SecurityAlgorithms.HmacSha256),
});
using var owner = new HttpClient { BaseAddress = baseAddress };
owner.DefaultRequestHeaders.Authorization = new("Bearer", ownerToken);
using var stranger = new HttpClient { BaseAddress = baseAddress };
var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token;

// The owner issues a code and comes online on a device.
var code = await Json(await owner.PostAsJsonAsync("/api/v1/codes", new { label = "Front door" }, timeout));
var device = await ConnectAsync($"?access_token={Uri.EscapeDataString(ownerToken)}&deviceId=consumer-phone");
var incoming = Next(device, "IncomingCall");

// A stranger scans it and calls.
var payload = code.GetProperty("payload").GetString()!;
var scan = await Json(await stranger.PostAsJsonAsync("/api/v1/scan", new { payload }, timeout));
Check(scan.GetProperty("label").GetString() == "Front door", "the scan shows the code's label");
var started = await Json(await stranger.PostAsJsonAsync("/api/v1/calls", new { payload, media = "audio" }, timeout));
var callId = started.GetProperty("callId").GetString()!;
var caller = await ConnectAsync($"?access_token={Uri.EscapeDataString(started.GetProperty("callToken").GetString()!)}");
var accepted = Next(caller, "CallAccepted");
Check((await incoming).GetProperty("callId").GetString() == callId, "the owner's device rings for the call");

// The owner accepts; offer and answer cross; the caller hangs up.
var offerAtOwner = Next(device, "Signal");
await device.InvokeAsync("Accept", callId, timeout);
await accepted;
await caller.InvokeAsync<long>("Signal", callId, "offer", new { type = "offer", sdp = "v=0" }, timeout);
Check((await offerAtOwner).GetProperty("type").GetString() == "offer", "the offer reaches the owner");
var answerAtCaller = Next(caller, "Signal");
await device.InvokeAsync<long>("Signal", callId, "answer", new { type = "answer", sdp = "v=0" }, timeout);
Check((await answerAtCaller).GetProperty("type").GetString() == "answer", "the answer reaches the caller");
var ended = Next(device, "CallEnded");
await caller.InvokeAsync("Hangup", callId, timeout);
Check((await ended).GetProperty("reason").GetString() == "hangup", "the owner hears the hang-up");

await caller.DisposeAsync();
await device.DisposeAsync();
await app.StopAsync();
Console.WriteLine("call completed");
return 0;

async Task<HubConnection> ConnectAsync(string query)
{
    var connection = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "/hubs/calls" + query)).Build();
    await connection.StartAsync(timeout);
    return connection;
}

Task<JsonElement> Next(HubConnection connection, string name)
{
    var next = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
    IDisposable? handler = null;
    handler = connection.On<JsonElement>(name, e =>
    {
        if (next.TrySetResult(e))
        {
            handler?.Dispose();
        }
    });
    return next.Task.WaitAsync(timeout);
}

async Task<JsonElement> Json(HttpResponseMessage response)
{
    var body = await response.Content.ReadAsStringAsync(timeout);
    Check(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {body}");
    return JsonDocument.Parse(body).RootElement;
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("Failed: " + what);
    }
}
