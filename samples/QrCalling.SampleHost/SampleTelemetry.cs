using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using QrCalling.Diagnostics;

namespace QrCalling.SampleHost;

/// <summary>OpenTelemetry export of QrCalling's meter and activity source, off unless configured:
/// <c>QrCalling:Sample:Telemetry:Prometheus=true</c> serves a Prometheus scrape endpoint at <c>/metrics</c> (metrics);
/// <c>QrCalling:Sample:Telemetry:OtlpEndpoint=http://collector:4317</c> pushes metrics and traces over OTLP
/// (<c>QrCalling:Sample:Telemetry:OtlpProtocol</c> <c>grpc</c>, the default, or <c>http</c>). Only the <c>QrCalling</c>
/// meter and source (and the runtime's ASP.NET Core and Kestrel meters for the scrape) are exported: their tags hold no
/// token, payload, IP or id.</summary>
public sealed record SampleTelemetry
{
    private const string Section = "QrCalling:Sample:Telemetry:";

    /// <summary>Whether <c>/metrics</c> is served.</summary>
    public bool Prometheus { get; init; }
    /// <summary>Where OTLP goes; null for no OTLP export.</summary>
    public Uri? OtlpEndpoint { get; init; }
    /// <summary>OTLP over gRPC (default) or HTTP/protobuf.</summary>
    public OtlpExportProtocol OtlpProtocol { get; init; } = OtlpExportProtocol.Grpc;
    /// <summary>Whether anything is exported.</summary>
    public bool Enabled => Prometheus || OtlpEndpoint is not null;

    /// <summary>Reads and checks the settings; a bad value is a <see cref="SampleConfigurationException"/> naming the key.</summary>
    public static SampleTelemetry From(IConfiguration configuration)
    {
        var prometheusText = configuration[Section + "Prometheus"];
        var prometheus = false;
        if (!string.IsNullOrWhiteSpace(prometheusText) && !bool.TryParse(prometheusText.Trim(), out prometheus))
        {
            throw new SampleConfigurationException(Section + "Prometheus must be true or false.");
        }
        Uri? otlp = null;
        var otlpText = configuration[Section + "OtlpEndpoint"];
        if (!string.IsNullOrWhiteSpace(otlpText)
            && (!Uri.TryCreate(otlpText.Trim(), UriKind.Absolute, out otlp) || otlp.Scheme is not ("http" or "https")))
        {
            throw new SampleConfigurationException(Section + "OtlpEndpoint must be an absolute http or https URL, e.g. http://localhost:4317.");
        }
        var protocol = (configuration[Section + "OtlpProtocol"] ?? "grpc").Trim().ToLowerInvariant() switch
        {
            "" or "grpc" => OtlpExportProtocol.Grpc,
            "http" or "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => throw new SampleConfigurationException(Section + "OtlpProtocol must be grpc or http."),
        };
        return new SampleTelemetry { Prometheus = prometheus, OtlpEndpoint = otlp, OtlpProtocol = protocol };
    }

    /// <summary>Registers the exporters the settings ask for (nothing when none is configured).</summary>
    public void AddTo(IServiceCollection services)
    {
        if (!Enabled)
        {
            return;
        }
        var otel = services.AddOpenTelemetry().ConfigureResource(r => r.AddService("qrcalling-sample"));
        otel.WithMetrics(metrics =>
        {
            metrics.AddMeter(QrCallingDiagnostics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel");
            if (Prometheus)
            {
                metrics.AddPrometheusExporter();
            }
            if (OtlpEndpoint is { } endpoint)
            {
                metrics.AddOtlpExporter(o => { o.Endpoint = endpoint; o.Protocol = OtlpProtocol; });
            }
        });
        if (OtlpEndpoint is { } traceEndpoint)
        {
            otel.WithTracing(tracing => tracing
                .AddSource(QrCallingDiagnostics.ActivitySourceName)
                .AddOtlpExporter(o => { o.Endpoint = traceEndpoint; o.Protocol = OtlpProtocol; }));
        }
    }

    /// <summary>Maps <c>/metrics</c> when the Prometheus exporter is on.</summary>
    public void MapTo(WebApplication app)
    {
        if (Prometheus)
        {
            app.MapPrometheusScrapingEndpoint("/metrics");
        }
    }
}
