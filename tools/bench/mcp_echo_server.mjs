// A Streamable HTTP MCP server made with the official TypeScript SDK (the one the reference
// servers use), with one `echo` tool and JSON answers: the peer opex_connector_bench measures the
// client against when the reference `everything` server, which spends about a millisecond of
// Node.js CPU per call, is what limits the rate.
//
//   node tools/bench/mcp_echo_server.mjs NODE_MODULES PORT
//
// NODE_MODULES is the MCP peers' node_modules (tools/scripts/install-mcp-peers.sh installs it).
// Prints "listening PORT" once it accepts connections.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [modules, portText] = process.argv.slice(2);
if (!modules || !portText) {
  console.error("usage: node mcp_echo_server.mjs NODE_MODULES PORT");
  process.exit(2);
}
const sdk = (p) => import(pathToFileURL(join(modules, "@modelcontextprotocol/sdk/dist/esm", p)).href);
const { Server } = await sdk("server/index.js");
const { StreamableHTTPServerTransport } = await sdk("server/streamableHttp.js");
const { ListToolsRequestSchema, CallToolRequestSchema } = await sdk("types.js");

const sessions = new Map();

function newSession() {
  const server = new Server({ name: "opex-bench-echo", version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [{ name: "echo", description: "Echoes its message", inputSchema: { type: "object", properties: { message: { type: "string" } } } }],
  }));
  server.setRequestHandler(CallToolRequestSchema, async (req) => ({
    content: [{ type: "text", text: `Echo: ${req.params.arguments?.message ?? ""}` }],
  }));
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (id) => sessions.set(id, transport),
  });
  transport.onclose = () => transport.sessionId && sessions.delete(transport.sessionId);
  return server.connect(transport).then(() => transport);
}

const http = createServer(async (req, res) => {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined;
  const id = req.headers["mcp-session-id"];
  let transport = id ? sessions.get(id) : undefined;
  if (!transport) {
    if (id) {
      res.writeHead(404, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
      return;
    }
    transport = await newSession();
  }
  await transport.handleRequest(req, res, body);
});
http.listen(Number(portText), "127.0.0.1", () => console.log(`listening ${http.address().port}`));
process.on("SIGTERM", () => process.exit(0));
