// The MCP TypeScript SDK's client against opex's MCP server (docs/mcp-gateway.md), over one
// transport: http (opexd's /mcp), bridge (`opexctl mcp serve --server`) or stdio (`opexctl mcp
// serve`, its own engine and database). Arguments: node_modules, mode, the build's tools
// folder, opex.yml, opexd's base URL, a data folder for stdio. Exits 1 on the first failed check.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const [modules, mode, tools, config, base, dataDir, opexdPid] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const sdk = (p) => import(require.resolve(`@modelcontextprotocol/sdk/${p}`));
const { Client } = await sdk("client/index.js");
const { StdioClientTransport } = await sdk("client/stdio.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { ElicitRequestSchema, ToolListChangedNotificationSchema } = await sdk("types.js");
const wait = (ms) => new Promise((ok) => setTimeout(ok, ms));

function check(cond, what, extra) {
  if (!cond) {
    console.error(`FAIL (${mode}): ${what}` + (extra === undefined ? "" : `: ${JSON.stringify(extra)}`));
    process.exit(1);
  }
}

// The person answering opex's elicitation/create: declines until told to approve.
const person = { decision: null, asked: [] };

async function connect(key) {
  const client = new Client({ name: "opex-gateway-test", version: "1.0.0" }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    person.asked.push(req.params);
    return person.decision ? { action: "accept", content: { decision: person.decision } } : { action: "decline" };
  });
  let transport;
  if (mode === "http") {
    transport = new StreamableHTTPClientTransport(new URL(base + "/mcp"), { requestInit: { headers: { "X-API-Key": key } } });
  } else {
    const args = ["mcp", "serve", "--config", config];
    const env = { ...process.env, OPEX_API_KEY: key };
    if (mode === "bridge") args.push("--server", base);
    else env.OPEX_DATA_DIR = dataDir;
    transport = new StdioClientTransport({ command: path.join(tools, "opexctl"), args, env, stderr: "inherit" });
  }
  await client.connect(transport);
  return { client, transport };
}

const { client, transport } = await connect("ops-key");
check(client.getServerVersion()?.name === "opex", "serverInfo names opex", client.getServerVersion());
check(client.getServerCapabilities()?.tools?.listChanged === true, "tools capability with listChanged");
if (mode === "http") check(typeof transport.sessionId === "string" && transport.sessionId.length > 0, "an Mcp-Session-Id");

// tools/list: the level-2 catalogue and opex's own tools; level-3 tools are not listed.
const { tools: listed } = await client.listTools();
const byName = Object.fromEntries(listed.map((t) => [t.name, t]));
for (const name of ["TASK_CREATE", "LOG_APPEND", "WEB_SEARCH", "RESTORE_BACKUP", "opex_ask", "opex_run_plan",
                    "opex_get_request", "log_entry", "query_logs", "get_metrics"])
  check(byName[name], `tools/list has ${name}`, Object.keys(byName));
for (const name of ["GIT_CLONE", "BACKUP_RUN", "N8N_WORKFLOW_UPSERT"])
  check(!byName[name], `tools/list hides ${name} (level 3)`);
check(byName.TASK_CREATE.inputSchema.required?.includes("title"), "TASK_CREATE's inputSchema is its payload schema", byName.TASK_CREATE.inputSchema);
check(byName.TASK_CREATE.outputSchema?.anyOf?.length === 2, "TASK_CREATE has an outputSchema", byName.TASK_CREATE.outputSchema);
check(byName.WEB_SEARCH.annotations.readOnlyHint === true && byName.WEB_SEARCH.annotations.openWorldHint === true,
      "WEB_SEARCH is read-only and open-world", byName.WEB_SEARCH.annotations);
check(byName.TASK_CREATE.annotations.readOnlyHint === false && byName.TASK_CREATE.annotations.destructiveHint === false,
      "TASK_CREATE writes, not destructively", byName.TASK_CREATE.annotations);
check(byName.RESTORE_BACKUP.annotations.destructiveHint === true, "RESTORE_BACKUP is destructive");

// An allowed tool: structuredContent checked by the SDK against the outputSchema.
const task = await client.callTool({ name: "TASK_CREATE", arguments: { title: "Réviser l'architecture Prolex", due_date: "2026-12-11" } });
check(!task.isError && task.structuredContent?.status === "created" && task.structuredContent.task_id, "TASK_CREATE ran", task);
check(task.content?.[0]?.type === "text" && task.content[0].text.includes(task.structuredContent.task_id), "a text rendering");

// A refused tool: isError with the standard error JSON.
const clone = await client.callTool({ name: "GIT_CLONE", arguments: { repo_url: "https://github.com/acme/app.git" } });
const err = clone.structuredContent ?? {};
check(clone.isError === true && err.error_code === "PERMISSION_DENIED", "GIT_CLONE is refused with PERMISSION_DENIED", clone);
for (const k of ["error", "error_code", "details", "timestamp", "request_id"]) check(k in err, `the refusal has ${k}`, err);

// An unknown tool is a JSON-RPC error (server/tools, "Error Handling").
let unknown = null;
try { await client.callTool({ name: "NO_SUCH_TOOL", arguments: {} }); } catch (e) { unknown = e; }
check(unknown && String(unknown.message).includes("unknown tool"), "an unknown tool is a protocol error", String(unknown));

// A call that needs a person parks at once, with its approval id and how to decide.
const parked = await client.callTool({ name: "RESTORE_BACKUP", arguments: { backup_id: "b-1" } });
const pending = parked.structuredContent ?? {};
check(!parked.isError && pending.status === "awaiting_approval" && pending.approvals?.[0]?.approval_id,
      "RESTORE_BACKUP waits for approval", parked);
check(pending.how_to_decide?.opexctl?.includes(pending.approvals[0].approval_id), "the answer says how to decide", pending);
if (mode !== "stdio") {  // a person decides through opexd; the stdio server's engine holds its own database
  execFileSync(path.join(tools, "opexctl"), ["approve", pending.approvals[0].approval_id, "--server", base],
               { env: { ...process.env, OPEX_API_KEY: "ops-key" }, stdio: ["ignore", "ignore", "inherit"] });
  let state = null;
  for (let i = 0; i < 100; i++) {  // bounded wait for the resumed plan
    const r = await client.callTool({ name: "opex_get_request", arguments: { request_id: pending.request_id } });
    state = r.structuredContent?.request?.status;
    if (state === "succeeded") break;
    await wait(50);
  }
  check(state === "succeeded", "the approved call completes", state);
}

// A client that declared elicitation is asked to decide an approval that needs no code (not
// through the relay, which opens no stream for the server's requests).
if (mode !== "bridge") {
  for (let i = 0; i < 100 && !person.asked.length; i++) await wait(20);  // it comes after the call's answer
  check(person.asked.some((q) => q.message.includes("RESTORE_BACKUP")), "opex asked the person through elicitation", person.asked);
  person.decision = "approve";
  const again = await client.callTool({ name: "RESTORE_BACKUP", arguments: { backup_id: "b-2" } });
  let state = null;
  for (let i = 0; i < 100 && state !== "succeeded"; i++) {  // bounded wait for the person's answer to run it
    await wait(50);
    const r = await client.callTool({ name: "opex_get_request", arguments: { request_id: again.structuredContent.request_id } });
    state = r.structuredContent?.request?.status;
  }
  check(state === "succeeded", "the call approved through elicitation completes", state);
  person.decision = null;
}

// Progress while a call runs.
const progress = [];
const search = await client.callTool({ name: "WEB_SEARCH", arguments: { query: "opex engine paced" } }, undefined,
                                     { onprogress: (p) => progress.push(p) });
check(!search.isError, "WEB_SEARCH ran", search);
// Through the relay a stream's events come with its answer, in one burst that the SDK handles
// after the response (docs/mcp-gateway.md): progress is checked over http and stdio.
if (mode !== "bridge") check(progress.length >= 1 && progress.some((p) => /WEB_SEARCH: running/.test(p.message)),
                             "progress notifications", progress);

// Cancellation: the SDK sends notifications/cancelled; the plan is cancelled.
const ctl = new AbortController();
const slow = client.callTool({ name: "WEB_SEARCH", arguments: { query: "slow one" } }, undefined,
                             { signal: ctl.signal, onprogress: () => {} });
setTimeout(() => ctl.abort("the person changed their mind"), 400);
let aborted = false;
try { await slow; } catch { aborted = true; }
check(aborted, "the cancelled call's promise rejects");
let cancelled = false;
for (let i = 0; i < 100 && !cancelled; i++) {
  const r = await client.callTool({ name: "query_logs", arguments: { tool: "WEB_SEARCH", source: "mcp", limit: 200 } });
  cancelled = (r.structuredContent?.entries ?? []).some((e) => JSON.stringify(e).includes("CANCELLED"));
  if (!cancelled) await wait(50);
}
check(cancelled, "the journal shows the step cancelled");

// The SystemJournal tools.
const logged = await client.callTool({ name: "log_entry", arguments: { message: "written by an MCP client", tags: ["mcp"] } });
check(!logged.isError, "log_entry wrote", logged);
const logs = await client.callTool({ name: "query_logs", arguments: { source: "mcp", limit: 5 } });
const entries = logs.structuredContent?.entries ?? [];
check(!logs.isError && entries.length === 5 && logs.structuredContent.next_cursor, "query_logs pages", logs.structuredContent);
check(entries.every((e) => e.metadata?.source === "mcp" && e.metadata?.client === "opex-gateway-test/1.0.0"),
      "query_logs filters by source; the client is named", entries.map((e) => e.metadata));
const page2 = await client.callTool({ name: "query_logs", arguments: { source: "mcp", limit: 5, cursor: logs.structuredContent.next_cursor } });
check(page2.structuredContent.entries.every((e) => e.id < entries[0].id), "the next page is older", page2.structuredContent);
const metrics = await client.callTool({ name: "get_metrics", arguments: {} });
check(!metrics.isError && JSON.stringify(metrics.structuredContent).includes("TASK_CREATE"), "get_metrics", metrics);

// A request in words, through Kimmy and Prolex.
const asked = await client.callTool({ name: "opex_ask", arguments: { text: "Créer une tâche pour réviser l'architecture Prolex avant vendredi" } });
check(!asked.isError && asked.structuredContent?.steps?.[0]?.tool === "TASK_CREATE", "opex_ask planned TASK_CREATE", asked);
await client.close();

if (mode === "http") {
  // Tenant isolation: tenant beta sees its two tools and none of the default tenant's journal.
  const beta = (await connect("beta-key")).client;
  const betaTools = (await beta.listTools()).tools.map((t) => t.name);
  check(betaTools.includes("TASK_CREATE") && !betaTools.includes("WEB_SEARCH"), "beta lists only its tools", betaTools);
  const denied = await beta.callTool({ name: "WEB_SEARCH", arguments: { query: "x" } });
  check(denied.isError && denied.structuredContent.error_code === "TOOL_NOT_ALLOWED", "beta may not call WEB_SEARCH", denied);
  const other = await beta.callTool({ name: "opex_get_request", arguments: { request_id: pending.request_id } });
  check(other.isError && other.structuredContent.error_code === "NOT_FOUND", "beta cannot read the default tenant's request", other);
  const betaLogs = await beta.callTool({ name: "query_logs", arguments: { limit: 200 } });
  check(betaLogs.structuredContent.entries.length > 0 && betaLogs.structuredContent.entries.every((e) => e.metadata?.tenant === "beta"), "beta reads only its journal", betaLogs.structuredContent);
  await beta.close();
  // A read-only key lists and reads, and is refused a tool that acts.
  const viewer = (await connect("viewer-key")).client;
  const refused = await viewer.callTool({ name: "TASK_CREATE", arguments: { title: "x" } });
  check(refused.isError && refused.structuredContent.error_code === "PERMISSION_DENIED", "a read-only key cannot act", refused);
  await viewer.close();
  // A reload that changes the level: the GET stream carries notifications/tools/list_changed.
  const watcher = (await connect("ops-key")).client;
  await watcher.listTools();
  let changed = 0;
  watcher.setNotificationHandler(ToolListChangedNotificationSchema, () => { changed++; });
  const original = fs.readFileSync(config, "utf8");
  fs.writeFileSync(config, original.replace("autonomy_level: 2", "autonomy_level: 3"));
  await wait(300);  // the SDK opens the GET stream after initialize, without telling
  process.kill(Number(opexdPid), "SIGHUP");
  for (let i = 0; i < 100 && !changed; i++) await wait(50);
  check(changed === 1, "tools/list_changed after a reload", changed);
  check((await watcher.listTools()).tools.some((t) => t.name === "GIT_CLONE"), "level 3 lists GIT_CLONE");
  fs.writeFileSync(config, original);
  process.kill(Number(opexdPid), "SIGHUP");
  for (let i = 0; i < 100 && changed < 2; i++) await wait(50);
  check(changed === 2 && !(await watcher.listTools()).tools.some((t) => t.name === "GIT_CLONE"), "back at level 2", changed);
  await watcher.close();
  // The transport's own checks.
  const post = (headers, body) => fetch(base + "/mcp", { method: "POST", headers: { "X-API-Key": "ops-key",
    "Content-Type": "application/json", Accept: "application/json, text/event-stream", ...headers }, body: JSON.stringify(body) });
  const ping = { jsonrpc: "2.0", id: 1, method: "ping" };
  check((await post({}, ping)).status === 400, "no Mcp-Session-Id: 400");
  check((await post({ "Mcp-Session-Id": "00000000-0000-4000-8000-000000000000" }, ping)).status === 404, "an unknown session: 404");
  const init = await post({}, { jsonrpc: "2.0", id: 0, method: "initialize",
    params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "raw", version: "0" } } });
  const sid = init.headers.get("mcp-session-id");
  check((await init.json()).result.protocolVersion === "2025-03-26", "2025-03-26 is negotiated");
  check((await post({ "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-06-18" }, ping)).status === 400, "a version other than the session's: 400");
  check((await post({ "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-03-26" }, ping)).status === 200, "ping in the session");
  const other_key = await fetch(base + "/mcp", { method: "DELETE", headers: { "X-API-Key": "beta-key", "Mcp-Session-Id": sid } });
  check(other_key.status === 404, "another key cannot end the session");
  const del = await fetch(base + "/mcp", { method: "DELETE", headers: { "X-API-Key": "ops-key", "Mcp-Session-Id": sid } });
  check(del.status === 204, "DELETE ends the session", del.status);
  check((await post({ "Mcp-Session-Id": sid }, ping)).status === 404, "an ended session: 404");
  check((await fetch(base + "/mcp", { method: "POST", body: "{}" })).status === 401, "no key: 401");
}
console.log(`mcp gateway over ${mode}: ok`);
