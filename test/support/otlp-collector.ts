/**
 * A fake OpenTelemetry collector: a `node:http` server on a loopback port that accepts OTLP/HTTP trace
 * exports in the JSON encoding (`POST /v1/traces`), answers 200 and keeps every span, flattened into a
 * plain record (ids as hex, attributes as plain values, the resource's `service.name`), plus the headers
 * of each export. It checks nothing about the protocol beyond what the tests read.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AttributeValue = string | number | boolean | AttributeValue[] | undefined;

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  attributes: Record<string, AttributeValue>;
  serviceName: AttributeValue;
}

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
type OtlpAttributes = { key: string; value: OtlpValue }[] | undefined;
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttributes };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        status?: { code?: number };
        attributes?: OtlpAttributes;
      }[];
    }[];
  }[];
}

export class OtlpCollector {
  readonly spans: CollectedSpan[] = [];
  readonly exports: { headers: IncomingHttpHeaders; contentType: string | undefined }[] = [];
  readonly #server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      this.exports.push({ headers: req.headers, contentType: req.headers['content-type'] });
      this.#collect(JSON.parse(Buffer.concat(chunks).toString()) as OtlpExport);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  static async start(): Promise<OtlpCollector> {
    const collector = new OtlpCollector();
    collector.#server.listen(0, '127.0.0.1');
    await once(collector.#server, 'listening');
    return collector;
  }

  /** The OTLP/HTTP traces endpoint. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/traces`;
  }

  /** The one span named `name`; fails if there is none or more than one. */
  span(name: string): CollectedSpan {
    const found = this.spans.filter((span) => span.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one span "${name}", got ${found.length}: ${this.spans.map((s) => s.name)}`);
    }
    return found[0]!;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    this.#server.close();
    await once(this.#server, 'close');
  }

  #collect(body: OtlpExport): void {
    for (const resourceSpans of body.resourceSpans ?? []) {
      const serviceName = attributes(resourceSpans.resource?.attributes)['service.name'];
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            statusCode: span.status?.code ?? 0,
            attributes: attributes(span.attributes),
            serviceName,
          });
        }
      }
    }
  }
}

function attributes(list: OtlpAttributes): Record<string, AttributeValue> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, plain(value)]));
}

function plain(value: OtlpValue): AttributeValue {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  return undefined;
}
