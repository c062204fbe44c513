// The interactive API docs in a real Chromium, with every request from outside the server
// refused: the page must render the OpenAPI document and send a request with the typed key.
// Usage: node docs.mjs LEADFLOW_BASE_URL ADMIN_KEY   (run by tests/browser.rs)
import { chromium } from "playwright-core";

const [base, adminKey] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.LEADFLOW_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  const outside = [];
  await page.route("**/*", (route) => {
    if (route.request().url().startsWith(base)) return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  await page.goto(`${base}/docs`);
  await page.waitForSelector("details#getV1Models");
  const operations = await page.locator("details").count();
  await page.fill("#key", adminKey);
  await page.click("details#getV1Models summary");
  await page.click("details#getV1Models button");
  await page.waitForSelector("details#getV1Models .status");
  const status = await page.textContent("details#getV1Models .status");
  const shown = await page.textContent("details#getV1Models pre");
  if (!status.startsWith("200")) throw new Error(`the request from the page: ${status} ${shown}`);
  if (!shown.includes('"models"')) throw new Error(`the answer is shown: ${shown}`);
  if (outside.length) throw new Error(`the page reached outside the server: ${outside}`);
  console.log(JSON.stringify({ operations, status }));
} finally {
  await browser.close();
}
