// The console in a real browser: Debian's chromium driven by puppeteer-core (test peers). Types
// the key, opens the failing request and reads its DAG and steps, approves a step with its
// confirmation code and sees the request finish, then checks that a read-only key sees no
// decide button. Screenshots go to the folder given. Called by console_test.sh:
//   node console_test.mjs MODULES BASE CHROMIUM SHOTS FAILING_ID PARKED_ID APPROVAL_ID CODE
// MODULES is the test peers' node_modules folder puppeteer-core is loaded from.
import { createRequire } from "node:module";

const [modules, base, chromium, shots, failing, parked, approval, code] = process.argv.slice(2);
const puppeteer = createRequire(`${modules}/`)("puppeteer-core");
const fail = (why) => { throw new Error(why); };
const text = (page, selector) => page.$eval(selector, (e) => e.textContent.trim());

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const problems = [];
const watch = (page) => {
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Console errors are script errors and CSP refusals; a refused API call (the decision without
  // its code, on purpose) is only a failed resource load, which the checks below look at.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
  });
};
let current = null;  // the page under test, for a screenshot when a check fails
try {
  // 1. Type the key once; the requests list arrives.
  const page = await browser.newPage();
  current = page;
  watch(page);
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${base}/ui/`, { waitUntil: "networkidle0" });
  if (await page.$eval("main", (m) => !m.hidden)) fail("the console shows data before a key is typed");
  await page.type("#api-key", "ops-key");
  await page.click("#connect");
  await page.waitForSelector(`tr[data-request-id="${failing}"]`, { timeout: 10000 });
  if (!(await text(page, "#who")).includes("admin")) fail(`who: ${await text(page, "#who")}`);

  // 2. The failing request: its DAG (drawn by Graphviz) and each step's state and reason.
  await page.click(`tr[data-request-id="${failing}"]`);
  await page.waitForSelector('#step-rows tr[data-step="3"]');
  await page.waitForFunction(() => document.querySelector("#graph").naturalWidth > 0, { timeout: 10000 });
  const steps = await page.$$eval("#step-rows tr", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim())));
  const [s1, s2, s3] = steps;
  if (s1[2] !== "succeeded" || s2[2] !== "failed" || s3[2] !== "skipped") fail(`step states: ${JSON.stringify(steps)}`);
  if (!s2[5].startsWith("TEMPLATE_UNRESOLVED")) fail(`step 2's error: ${s2[5]}`);
  if (!s3[5].startsWith("DEPENDENCY_FAILED") || !s3[5].includes("step 2")) fail(`step 3's skip reason: ${s3[5]}`);
  if ((await text(page, "#detail-status")) !== "partial") fail(`request status: ${await text(page, "#detail-status")}`);
  await page.screenshot({ path: `${shots}/1-failed-request.png`, fullPage: true });

  // 3. The parked step, approved from the page with its confirmation code; the request finishes.
  await page.click('#tabs button[data-tab="approvals"]');
  const row = `tr[data-approval-id="${approval}"]`;
  await page.waitForSelector(`${row} input.code`);
  await page.screenshot({ path: `${shots}/2-pending-approval.png`, fullPage: true });
  await page.click(`${row} button.approve`);  // without the code: refused, still pending
  await page.waitForFunction(() => document.querySelector("#message").textContent.includes("CONFIRMATION_INVALID"));
  await page.type(`${row} input.code`, code);
  // A refresh (the live one, or this tab's) keeps the code being typed.
  await page.click('#tabs button[data-tab="approvals"]');
  await page.waitForFunction(() => document.querySelector("#pending-count").textContent !== "");
  const kept = await page.$eval(`${row} input.code`, (i) => i.value);
  if (kept !== code) fail(`the refresh wiped the code being typed: '${kept}'`);
  await page.click(`${row} button.approve`);
  await page.waitForFunction((id) => document.querySelector("#message").textContent === `approval ${id}: approved`, {}, approval);
  await page.waitForFunction((sel) => !document.querySelector(sel), { timeout: 10000 }, row);
  await page.click('#tabs button[data-tab="requests"]');
  await page.waitForFunction(
    (id) => document.querySelector(`tr[data-request-id="${id}"] td:last-child`)?.textContent === "succeeded",
    { timeout: 15000 }, parked);
  await page.click(`tr[data-request-id="${parked}"]`);
  await page.waitForFunction(() => document.querySelector('#step-rows tr[data-step="1"] td:nth-child(3)')?.textContent === "succeeded");
  await page.screenshot({ path: `${shots}/3-approved-request.png`, fullPage: true });

  // 4. Workflow metrics on their tab.
  await page.click('#tabs button[data-tab="workflows"]');
  await page.waitForSelector('#workflow-rows tr[data-tool="TASK_CREATE"]');

  // 4b. The alerts: the failing tool's error-rate alert fires (evaluated before the page opened).
  await page.click('#tabs button[data-tab="alerts"]');
  const alertRow = '#alert-rows tr[data-rule="workflow_error_rate"][data-subject="DOC_CREATE_NOTE"]';
  await page.waitForSelector(alertRow);
  if ((await text(page, `${alertRow} td:nth-child(3)`)) !== "firing") fail("the error-rate alert is not shown firing");
  if (!(await text(page, "#firing-count")).includes("1")) fail("the Alerts tab does not count the firing alert");
  await page.screenshot({ path: `${shots}/5-alerts.png`, fullPage: true });

  // 5. A read-only key: the pending approvals, and no decide button.
  const viewer = await (await browser.createBrowserContext()).newPage();
  current = viewer;
  watch(viewer);
  await viewer.setViewport({ width: 1280, height: 700 });
  await viewer.goto(`${base}/ui/`, { waitUntil: "networkidle0" });
  await viewer.type("#api-key", "viewer-key");
  await viewer.click("#connect");
  await viewer.waitForSelector("#tabs:not([hidden])");
  await viewer.click('#tabs button[data-tab="approvals"]');
  await viewer.waitForSelector("#approval-rows tr");
  const buttons = await viewer.$$("#approval-rows button, #approval-rows input");
  if (buttons.length !== 0) fail(`a read-only key sees ${buttons.length} decide controls`);
  if (!(await text(viewer, "#approval-rows td.decision")).includes("read-only")) fail("no read-only note");
  await viewer.screenshot({ path: `${shots}/4-read-only.png`, fullPage: true });
  if (problems.length) fail(problems.join("\n"));
  console.log("console: ok");
} catch (e) {
  if (current) {
    await current.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
    console.error(`message on the page: ${await text(current, "#message").catch(() => "?")}`);
  }
  console.error(problems.join("\n"));
  throw e;
} finally {
  await browser.close();
}
