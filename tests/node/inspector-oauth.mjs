// Drives the MCP Inspector's web UI in headless Chromium (Debian's, through
// playwright-core, which brings no browser of its own) through the OAuth
// authorization code flow against the local internet rung, for
// tests/e2e/test_inspector_oauth.py: connect, let the Inspector register with
// the development issuer and send the browser to its consent page, come back,
// list the tools and call word_count. Screenshots go to the folder given.
//
// Usage: node inspector-oauth.mjs INSPECTOR_URL ISSUER_URL ARTIFACT_DIR
// Prints one JSON line: what it saw.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [inspectorUrl, issuerUrl, artifacts] = process.argv.slice(2);
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), "inspector-chromium-"));
// A fresh profile (--user-data-dir) each run.
const browser = await chromium.launchPersistentContext(profile, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1400, height: 1000 },
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const seen = { consentStatus: null, consentSaysTestDouble: false, callback: null, tools: [], words: null };
rmSync(join(artifacts, "inspector-oauth-failed.png"), { force: true });
try {
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(30_000);
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame() && frame.url().includes("/oauth/callback")) {
      const params = new URL(frame.url()).searchParams;
      seen.callback = { code: params.has("code"), state: params.has("state"), error: params.get("error") };
    }
  });
  await page.goto(inspectorUrl);
  // Connecting meets the endpoint's 401: discovery, registration, then the
  // browser goes to the issuer's consent page.
  const consent = page.waitForResponse((r) => r.url().startsWith(`${issuerUrl}/authorize`));
  await page.getByRole("switch").first().click({ force: true });
  const consentResponse = await consent;
  seen.consentStatus = consentResponse.status();
  seen.consentSaysTestDouble = (await consentResponse.text()).includes("LOCAL TEST DOUBLE");
  await page.getByText("Connected", { exact: true }).waitFor();
  await page.getByText("Tools", { exact: true }).first().click();
  const toolButtons = page.getByRole("button", { name: /word_count/ });
  await toolButtons.waitFor();
  seen.tools = (await page.getByRole("button").allInnerTexts())
    .map((text) => text.split("\n").filter(Boolean).pop())
    .filter((name) => /^[a-z_]+$/.test(name ?? ""));
  await toolButtons.click();
  await page.getByRole("textbox", { name: /^text\b/ }).fill("tokens from a stranger");
  await page.getByRole("button", { name: "Execute Tool" }).click();
  const result = page.getByText(/"words"/).first();
  await result.waitFor();
  // The result pane shows the tool's JSON, a line at a time.
  const shown = await page.locator("body").innerText();
  seen.words = Number(/"words":\s*(\d+)/.exec(shown)?.[1]);
  await page.screenshot({ path: join(artifacts, "inspector-oauth.png"), fullPage: true });
} catch (error) {
  seen.error = String(error);
  await browser.pages()[0]?.screenshot({ path: join(artifacts, "inspector-oauth-failed.png") }).catch(() => {});
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(seen) + "\n");
