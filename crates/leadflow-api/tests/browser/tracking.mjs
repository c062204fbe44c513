// A visitor in a real Chromium: reads a page with the tracking snippet anonymously, then fills in
// a form with an email. Their page view must join that lead, with a score that counts it.
// Usage: node tracking.mjs LEADFLOW_BASE_URL ADMIN_KEY   (run by tests/browser.rs)
import http from "node:http";
import { chromium } from "playwright-core";

const [base, adminKey] = process.argv.slice(2);
const executablePath = process.env.LEADFLOW_CHROMIUM || "/usr/bin/chromium";

// The customer's website, on another origin than leadflow.
const pages = {
  "/pricing": `<!doctype html><title>Pricing</title><h1>Pricing</h1>
    <script async src="${base}/t/leadflow.js"></script>`,
  "/contact": `<!doctype html><title>Contact</title>
    <form action="/thanks" method="get"><input type="email" name="email"><button>Send</button></form>
    <script async src="${base}/t/leadflow.js"></script>`,
  "/thanks": `<!doctype html><title>Thanks</title><p>Thanks!</p>`,
  "/favicon.ico": "",
};
const site = http.createServer((req, res) => {
  const body = pages[new URL(req.url, "http://x").pathname];
  res.writeHead(body === undefined ? 404 : 200, { "content-type": "text/html" });
  res.end(body ?? "not found");
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
const siteUrl = `http://localhost:${site.address().port}`;

async function api(path) {
  const response = await fetch(base + path, { headers: { authorization: `Bearer ${adminKey}` } });
  return { status: response.status, body: await response.json() };
}

async function eventually(what, check) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fail(message) {
  console.error("FAIL: " + message);
  process.exitCode = 1;
}

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });

  await page.goto(`${siteUrl}/pricing`);
  await page.waitForFunction(() => window.leadflow && window.leadflow.visitor);
  const visitor = await page.evaluate(() => window.leadflow.visitor);
  const cookie = (await page.context().cookies()).find((c) => c.name === "leadflow_visitor");
  if (!cookie || cookie.value !== visitor) fail(`the visitor id is kept in a first-party cookie: ${JSON.stringify(cookie)}`);
  if (!/^[0-9a-f]{32}$/.test(visitor)) fail(`visitor id ${visitor}`);

  const email = "visitor@browser.example";
  // Anonymous so far: no lead yet (the page view waits under the visitor id).
  const before = await api(`/v1/leads/${email}`);
  if (before.status !== 404) fail(`no lead before the form: ${before.status}`);

  await page.goto(`${siteUrl}/contact`);
  await page.waitForFunction(() => window.leadflow && window.leadflow.visitor);
  const again = await page.evaluate(() => window.leadflow.visitor);
  if (again !== visitor) fail(`the same visitor across pages: ${again} vs ${visitor}`);
  await page.fill("input[type=email]", email);
  await Promise.all([page.waitForURL("**/thanks**"), page.click("button")]);

  const view = await eventually("the lead", async () => {
    const r = await api(`/v1/leads/${email}`);
    const types = r.status === 200 ? r.body.timeline.map((e) => `${e.type} ${e.properties.url}`) : [];
    return types.includes("form_submitted /contact") && types.includes("page_view /pricing") ? r.body : null;
  });
  const rules = view.explanation.engagement.map((l) => l.rule);
  if (!rules.includes("pricing_page")) fail(`the anonymous pricing view counts for the lead: ${rules}`);
  if (errors.length) fail(`errors in the page: ${errors.join("; ")}`);
  console.log(JSON.stringify({ visitor, timeline: view.timeline.map((e) => `${e.type} ${e.properties.url}`),
                               total: view.lead.score.total, rules }));
} finally {
  await browser.close();
  site.close();
}
