// Drives the /verify page in headless Chromium (npm playwright-core + Debian chromium).
// usage: node tests/helpers/js/verify_page.mjs BASE_URL VALID_BUNDLE_FILE TAMPERED_BUNDLE_FILE [SCREENSHOT_PNG]
// Prints one JSON object: {valid: {verdict, checks}, tampered: {...}, batch: {...}, errors: [...], external: [...]}.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [base, validFile, tamperedFile, screenshot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = { errors: [], external: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 }, deviceScaleFactor: 1 });
  const origin = new URL(base).origin;
  page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
  page.on("pageerror", (e) => out.errors.push(String(e)));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) { out.external.push(url); return route.abort(); }
    return route.continue();
  });

  const read = async () => page.evaluate(() => {
    const report = document.querySelector("#results [data-verdict]");
    return {
      verdict: report ? report.dataset.verdict : null,
      banner: document.getElementById("verdict") ? document.getElementById("verdict").textContent : null,
      summary: (document.querySelector("#results .summary") || {}).textContent || null,
      issuer: (document.querySelector('#results [data-role="issuer"]') || {}).textContent || null,
      anchored: (document.querySelector('#results [data-role="anchored"]') || {}).textContent || null,
      checks: Object.fromEntries([...document.querySelectorAll("#results tr[data-check]")].map(
        (tr) => [tr.dataset.check, { status: tr.dataset.status, reason: tr.querySelector(".reason").textContent,
                                     color: getComputedStyle(tr.querySelector(".mark")).color }])),
    };
  });
  const waitDone = () => page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 20000 });

  await page.goto(base + "/verify", { waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.state === "ready");

  // 1. paste a valid bundle
  await page.fill("#bundle", readFileSync(validFile, "utf8"));
  await page.click("#verify");
  await waitDone();
  out.valid = await read();
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

  // 2. pick a tampered bundle file (the same code path as a drop: FileReader, then verify)
  await page.evaluate(() => { document.body.dataset.state = "picking"; });
  await page.setInputFiles("#file", tamperedFile);
  await waitDone();
  out.tampered = await read();

  // 3. drop a file on the drop zone (a DataTransfer with a File)
  const text = readFileSync(validFile, "utf8");
  await page.evaluate(() => { document.body.dataset.state = "dropping"; });
  const dt = await page.evaluateHandle((t) => {
    const d = new DataTransfer();
    d.items.add(new File([t], "dropped.json", { type: "application/json" }));
    return d;
  }, text);
  await page.dispatchEvent("#drop", "drop", { dataTransfer: dt });
  await waitDone();
  out.dropped = await read();

  // 4. garbage -> problem+json rendered as a failed format check
  await page.fill("#bundle", '{"format": "credreg-bundle/1"}');
  await page.click("#verify");
  await waitDone();
  out.malformed = await read();
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
