// Issue 14's acceptance through the MCP TypeScript SDK's client, pointed at `opexctl mcp serve`
// (stdio) at level 2, after an operator tested the workflow and approved its review
// (mcp_acceptance_test.sh). Writes the parked promotion's request and approval ids to OUT.
// Arguments: node_modules, opexctl, opex.yml, OUT. Exits 1 on the first failed check.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const [modules, opexctl, config, out] = process.argv.slice(2);
const require = createRequire(path.join(modules, "noop.js"));
const sdk = (p) => import(require.resolve(`@modelcontextprotocol/sdk/${p}`));
const { Client } = await sdk("client/index.js");
const { StdioClientTransport } = await sdk("client/stdio.js");
const { ElicitRequestSchema } = await sdk("types.js");

function check(cond, what, extra) {
  if (!cond) {
    console.error(`FAIL: ${what}` + (extra === undefined ? "" : `: ${JSON.stringify(extra)}`));
    process.exit(1);
  }
}

const client = new Client({ name: "acceptance-agent", version: "0.1.0" }, { capabilities: { elicitation: {} } });
const asked = [];
client.setRequestHandler(ElicitRequestSchema, async (req) => { asked.push(req.params); return { action: "decline" }; });
await client.connect(new StdioClientTransport({ command: opexctl, args: ["mcp", "serve", "--config", config],
                                                env: process.env, stderr: "inherit" }));

// The tools allowed at level 2 (and the manual ones, which park), none that needs level 3.
const names = (await client.listTools()).tools.map((t) => t.name);
for (const n of ["TASK_CREATE", "N8N_WORKFLOW_PROMOTE", "query_logs", "log_entry", "get_metrics", "opex_ask"])
  check(names.includes(n), `tools/list has ${n}`, names);
for (const n of ["GIT_CLONE", "N8N_WORKFLOW_UPSERT", "N8N_WORKFLOW_TEST"]) check(!names.includes(n), `tools/list hides ${n}`, names);

const task = await client.callTool({ name: "TASK_CREATE", arguments: { title: "Réviser l'architecture Prolex", due_date: "2026-12-11" } });
check(!task.isError && task.structuredContent?.status === "created", "TASK_CREATE created a task", task);

const clone = await client.callTool({ name: "GIT_CLONE", arguments: { repo_url: "https://github.com/acme/app.git" } });
check(clone.isError && clone.structuredContent?.error_code === "PERMISSION_DENIED", "GIT_CLONE is refused", clone);

// The promotion: tested and reviewed, high-risk, so it waits for a person with a confirmation code.
const promote = await client.callTool({ name: "N8N_WORKFLOW_PROMOTE", arguments: { workflow_name: "AUTO_PROLEX_Relance_fournisseur" } });
const pending = promote.structuredContent ?? {};
check(!promote.isError && pending.status === "awaiting_approval" && pending.approvals?.[0]?.approval_id,
      "N8N_WORKFLOW_PROMOTE waits for approval", promote);
check(pending.approvals[0].requires_code === true && !JSON.stringify(promote).includes("confirmation_code\":\""),
      "a code is required and not sent to the client", pending);
check(pending.how_to_decide?.opexctl?.includes(pending.approvals[0].approval_id), "the answer says how to decide", pending.how_to_decide);
await new Promise((ok) => setTimeout(ok, 200));  // an elicitation would follow the answer
check(!asked.some((q) => q.message.includes("N8N_WORKFLOW_PROMOTE")), "no elicitation for a step with a code", asked);

// The agent reads its own calls back.
const logs = await client.callTool({ name: "query_logs", arguments: { source: "mcp", limit: 50 } });
const entries = logs.structuredContent?.entries ?? [];
const tools = new Set(entries.map((e) => e.tool_used));
for (const n of ["TASK_CREATE", "GIT_CLONE", "N8N_WORKFLOW_PROMOTE"]) check(tools.has(n), `query_logs shows ${n}`, [...tools]);
check(entries.every((e) => e.metadata?.client === "acceptance-agent/0.1.0"), "each entry names the client", entries.map((e) => e.metadata));
const refused = await client.callTool({ name: "query_logs", arguments: { tool: "GIT_CLONE", status: "failure" } });
check(refused.structuredContent?.entries?.length >= 1, "query_logs by tool and status", refused.structuredContent);
await client.close();
fs.writeFileSync(out, JSON.stringify({ request_id: pending.request_id, approval_id: pending.approvals[0].approval_id }));
console.log("mcp acceptance (client): ok");
