// A loopback OTLP/HTTP trace receiver for opex's trace test (test/tools/traces_test.sh). Every
// POST /v1/traces body (OTLP JSON) is decoded with OpenTelemetry's own protobuf definitions
// (@opentelemetry/otlp-transformer's generated root): converted to the message, encoded,
// decoded again, and every field opex sent must exist in the message (an unknown or misspelt
// field is an error, not silently dropped). Accepted spans are appended as JSON lines to OUT.
// Usage: node otlp_receiver.js NODE_MODULES OUT PORT_FILE
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');
const [, , nodeModules, outFile, portFile] = process.argv;
const root = require(path.join(nodeModules, '@opentelemetry/otlp-transformer/build/src/generated/root'));
const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const idLength = { traceId: 32, spanId: 16, parentSpanId: 16 };

// OTLP JSON carries ids as hex; the protobuf mapping wants bytes.
function idsToBytes(value, where) {
  if (Array.isArray(value)) return value.map((v, i) => idsToBytes(v, `${where}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const out = {};
  for (const [k, v] of Object.entries(value)) {
    if (k in idLength) {
      if (typeof v !== 'string' || v.length !== idLength[k] || !/^[0-9a-f]+$/.test(v))
        throw new Error(`${where}.${k}: not ${idLength[k]} lower-case hex digits: ${JSON.stringify(v)}`);
      out[k] = Buffer.from(v, 'hex');
    } else {
      out[k] = idsToBytes(v, `${where}.${k}`);
    }
  }
  return out;
}

// Every key sent must be a field of the decoded message (listed with its defaults).
function checkKnown(sent, decoded, where) {
  if (Array.isArray(sent)) {
    if (!Array.isArray(decoded) || decoded.length !== sent.length) throw new Error(`${where}: array lost in decoding`);
    sent.forEach((v, i) => checkKnown(v, decoded[i], `${where}[${i}]`));
    return;
  }
  if (sent === null || typeof sent !== 'object') return;
  for (const [k, v] of Object.entries(sent)) {
    if (!(k in decoded)) throw new Error(`${where}.${k}: not a field of the OTLP message`);
    if (typeof v === 'object') checkKnown(v, decoded[k], `${where}.${k}`);
  }
}

function anyValue(v) {
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  return null;
}

function attributes(list) {
  const out = {};
  for (const a of list || []) out[a.key] = anyValue(a.value);
  return out;
}

function accept(body) {
  const sent = JSON.parse(body);
  const message = Request.fromObject(idsToBytes(sent, 'body'));
  const decoded = Request.decode(Request.encode(message).finish());
  const plain = Request.toObject(decoded, { longs: String, bytes: String, defaults: true, arrays: true, objects: true });
  checkKnown(sent, plain, 'body');
  const hex = (b) => Buffer.from(b).toString('hex');
  const lines = [];
  for (const rs of decoded.resourceSpans) {
    const resource = rs.resource ? attributes(root.opentelemetry.proto.resource.v1.Resource.toObject(rs.resource, { longs: String }).attributes) : {};
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans) {
        const start = BigInt(s.startTimeUnixNano.toString());
        const end = BigInt(s.endTimeUnixNano.toString());
        if (start <= 0n || end < start) throw new Error(`span ${s.name}: bad times ${start} .. ${end}`);
        lines.push(JSON.stringify({
          resource, scope: ss.scope.name, traceId: hex(s.traceId), spanId: hex(s.spanId),
          parentSpanId: s.parentSpanId && s.parentSpanId.length ? hex(s.parentSpanId) : '',
          name: s.name, kind: s.kind, durationNs: (end - start).toString(),
          status: { code: (s.status && s.status.code) || 0, message: (s.status && s.status.message) || '' },
          attributes: attributes(root.opentelemetry.proto.trace.v1.Span.toObject(s, { longs: String }).attributes),
        }));
      }
  }
  fs.appendFileSync(outFile, lines.map((l) => l + '\n').join(''));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    let status = 200, answer = '{}';
    try {
      if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`unexpected ${req.method} ${req.url}`);
      if (!String(req.headers['content-type']).startsWith('application/json'))
        throw new Error(`Content-Type ${req.headers['content-type']}`);
      accept(Buffer.concat(chunks).toString('utf8'));
    } catch (e) {
      status = 400;
      answer = JSON.stringify({ error: String(e.message) });
      fs.appendFileSync(outFile + '.errors', String(e.message) + '\n');
    }
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => fs.writeFileSync(portFile, String(server.address().port)));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
