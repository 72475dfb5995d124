// The learner's path in headless Chromium (npm playwright-core + Debian chromium): open the share link, read the
// page, download the PDF, decode its QR code (pdftoppm + zbarimg), follow it, and verify from there.
// usage: node tests/helpers/js/share_page.mjs SHARE_URL WORK_DIR [SHARE_SCREENSHOT VERIFY_SCREENSHOT]
// Prints one JSON object: {share, pdf, qr, followed, verify, errors, external}.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [shareUrl, work, shareShot, verifyShot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = { errors: [], external: [] };
try {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 900, height: 1000 } });
  const page = await context.newPage();
  const origin = new URL(shareUrl).origin;
  page.on("console", (m) => { if (m.type() === "error") out.errors.push(m.text()); });
  page.on("pageerror", (e) => out.errors.push(String(e)));
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) { out.external.push(url); return route.abort(); }
    return route.continue();
  });
  const text = (sel) => page.evaluate((s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : null; }, sel);

  // 1. the share page
  await page.goto(shareUrl, { waitUntil: "load" });
  out.share = {
    title: await text("#title"), holder: await text("#holder"), issuer: await text("#issuer"),
    ects: await text("#ects"), eqf: await text("#eqf"), status: await text("#status"),
    outcomes: await page.$$eval("#outcomes li", (lis) => lis.map((li) => li.textContent.trim())),
    stylesheet: await page.evaluate(() => getComputedStyle(document.getElementById("status")).backgroundColor),
  };
  if (shareShot) await page.screenshot({ path: shareShot, fullPage: true });

  // 2. download the PDF as the learner would: a click on the link
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download-pdf")]);
  const pdf = join(work, "downloaded.pdf");
  await download.saveAs(pdf);
  out.pdf = { file: pdf, suggested: download.suggestedFilename() };

  // 3. read its QR code back from the rendered page
  execFileSync("pdftoppm", ["-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", pdf, join(work, "pdf-page")]);
  out.qr = execFileSync("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", join(work, "pdf-page.png")])
    .toString().trim();

  // 4. follow it, then "Verify it now"
  await page.goto(out.qr, { waitUntil: "load" });
  out.followed = { title: await text("#title"), url: page.url() };
  await page.click("#verify-link");
  await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 30000 });
  const report = "#results [data-verdict]";
  out.verify = {
    url: page.url(),
    verdict: await page.$eval(report, (e) => e.dataset.verdict),
    banner: await text("#verdict"),
    title: await text('#results [data-role="title"]'),
    status: await text('#results [data-role="status"]'),
    holder: await text('#results [data-role="holder"]'),
    issuer: await text('#results [data-role="issuer-name"]'),
    ects: await text('#results [data-role="ects"]'),
    eqf: await text('#results [data-role="eqf"]'),
    issued: await text('#results [data-role="issued"]'),
    outcomes: await page.$$eval('#results [data-role="outcomes"] li', (lis) => lis.map((li) => li.textContent)),
    technicalOpen: await page.$eval('#results [data-role="technical"]', (d) => d.open),
    checks: await page.$$eval("#results tr[data-check]", (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.check, tr.dataset.status]))),
  };
  await page.click('#results [data-role="technical"] > summary'); // every check one click away
  out.verify.technicalOpenAfterClick = await page.$eval('#results [data-role="technical"]', (d) => d.open);
  if (verifyShot) await page.screenshot({ path: verifyShot, fullPage: true });
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + "\n");
