// The playground in headless Chromium (Debian's chromium, driven by
// playwright-core): chat and completion stream tokens, and the attention
// view draws a heat map for a chosen layer and head. Screenshots go to
// artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startServer, haveModel, need } from "./server.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const artifacts = path.join(here, "artifacts");
const exe = process.env.CHROMIUM || "/usr/bin/chromium";
let srv, browser, page;

before(async () => {
  if (!haveModel() || !existsSync(exe)) return;
  mkdirSync(artifacts, { recursive: true });
  srv = await startServer();
  browser = await chromium.launch({
    executablePath: exe,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("pageerror", (e) => { throw e; });
  await page.goto(srv.url + "/");
  await page.waitForFunction(() => document.querySelector("#model").options.length > 0);
});

after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

function ready(t) {
  return need(t, haveModel(), "shared/models/stories260K") && need(t, existsSync(exe), exe + " (apt-get install chromium)");
}

// countChunks installs a MutationObserver that counts how many separate
// updates the element received (streamed chunks arrive as several).
async function countChunks(selector) {
  await page.evaluate((sel) => {
    window.__chunks = 0;
    new MutationObserver(() => { window.__chunks++; }).observe(document.querySelector(sel), { childList: true, subtree: true, characterData: true });
  }, selector);
}

test("completion streams coloured tokens", async (t) => {
  if (!ready(t)) return;
  await page.click("#tab-completion");
  await page.fill("#max_tokens", "200");
  await page.fill("#prompt", "Once upon a time");
  await countChunks("#output");
  await page.click("#generate");
  await page.waitForSelector('#output[data-state="done"]');
  const n = await page.locator("#output .tok").count();
  const chunks = await page.evaluate(() => window.__chunks);
  const text = await page.locator("#output").innerText();
  assert.ok(n >= 20, `${n} token spans`);
  assert.ok(chunks >= 2, `the output arrived in ${chunks} update(s), not streamed`);
  assert.match(text, /^Once upon a time/);
  const bg = await page.locator("#output .tok").first().evaluate((el) => el.style.background);
  assert.match(bg, /hsl|rgb/);
  await page.screenshot({ path: path.join(artifacts, "playground-completion.png") });
});

test("chat streams a reply", async (t) => {
  if (!ready(t)) return;
  await page.click("#tab-chat");
  await page.fill("#max_tokens", "80");
  await countChunks("#messages");
  await page.fill("#chat-input", "Lily went to the park");
  await page.press("#chat-input", "Enter");
  await page.waitForSelector(".msg.assistant.done");
  const reply = await page.locator(".msg.assistant").last().innerText();
  assert.ok(reply.trim().length > 0, "empty reply");
  assert.ok(await page.locator(".msg.assistant .tok").count() > 3);
  assert.ok(await page.evaluate(() => window.__chunks) >= 2);
  await page.screenshot({ path: path.join(artifacts, "playground-chat.png") });
});

test("attention view draws a heat map for a chosen layer and head", async (t) => {
  if (!ready(t)) return;
  await page.click("#tab-attention");
  await page.fill("#att-prompt", "Lily saw a big cat in the park and she smiled");
  await page.click("#att-run");
  await page.waitForFunction(() => document.querySelector("#heatmap").dataset.tokens);
  const layers = await page.locator("#att-layer option").count();
  const heads = await page.locator("#att-head option").count();
  assert.ok(layers > 1 && heads > 1, `${layers} layers, ${heads} heads`);
  const layer = String(Math.min(2, layers - 1)), head = String(Math.min(3, heads - 1));
  await page.selectOption("#att-layer", layer);
  await page.selectOption("#att-head", head);
  const drawn = await page.evaluate(() => {
    const cv = document.querySelector("#heatmap");
    const T = Number(cv.dataset.tokens);
    const ctx = cv.getContext("2d");
    // The matrix starts at the label margin; count coloured pixels there.
    const m = 110, size = cv.width - m - 10;
    const d = ctx.getImageData(m, m, size, size).data;
    let coloured = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) coloured++;
    return { layer: cv.dataset.layer, head: cv.dataset.head, T, coloured, total: d.length / 4 };
  });
  assert.equal(drawn.layer, layer);
  assert.equal(drawn.head, head);
  assert.ok(drawn.T > 5);
  // Causal attention: about half the cells (the lower triangle) are coloured.
  assert.ok(drawn.coloured > drawn.total * 0.2, `${drawn.coloured} of ${drawn.total} pixels coloured`);
  await page.screenshot({ path: path.join(artifacts, "playground-attention.png") });
});
