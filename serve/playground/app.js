// Glossa playground: chat and completion with streaming, tokens coloured by
// probability, and an attention heat-map. Plain JavaScript, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { messages: [], attention: null, abort: null };

// ---- settings ------------------------------------------------------------

$("apikey").value = localStorage.getItem("glossa.apikey") || "";
$("apikey").addEventListener("change", () => {
  localStorage.setItem("glossa.apikey", $("apikey").value);
  loadModels();
});
for (const id of ["temperature", "top_p", "presence_penalty", "frequency_penalty"]) {
  const el = $(id), out = $(id + "-v");
  el.addEventListener("input", () => { out.value = el.value; });
}

function status(text, error) {
  const el = $("status");
  el.textContent = text;
  el.classList.toggle("error", !!error);
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("apikey").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

// sampling returns the request fields of the sampling controls.
function sampling() {
  const body = {
    model: $("model").value,
    temperature: Number($("temperature").value),
    top_p: Number($("top_p").value),
    max_tokens: Number($("max_tokens").value) || 128,
    presence_penalty: Number($("presence_penalty").value),
    frequency_penalty: Number($("frequency_penalty").value),
  };
  if ($("seed").value !== "") body.seed = Number($("seed").value);
  const stop = $("stop").value;
  if (stop) body.stop = [stop.replace(/\\n/g, "\n").replace(/\\t/g, "\t")];
  return body;
}

async function errorText(resp) {
  try {
    const j = await resp.json();
    return (j.error && j.error.message) || resp.statusText;
  } catch (e) {
    return resp.statusText;
  }
}

async function loadModels() {
  try {
    const resp = await fetch("v1/models", { headers: headers() });
    if (!resp.ok) throw new Error(await errorText(resp));
    // Encoders (embeddings, task routes) do not chat: the playground lists the generators.
    const list = (await resp.json()).data.filter((m) => m.generates !== false);
    const sel = $("model"), keep = sel.value;
    sel.innerHTML = "";
    for (const m of list) {
      const o = document.createElement("option");
      o.value = m.id;
      o.textContent = m.id + " (" + m.max_model_len + " ctx" + (m.attention ? ", attention" : "") + ")";
      sel.appendChild(o);
    }
    if (keep && list.some((m) => m.id === keep)) sel.value = keep;
    status(list.length + " model" + (list.length === 1 ? "" : "s"));
  } catch (e) {
    status("models: " + e.message, true);
  }
}

// ---- tabs ------------------------------------------------------------------

for (const b of document.querySelectorAll(".tab")) {
  b.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) t.classList.toggle("active", t === b);
    for (const p of document.querySelectorAll(".pane")) p.classList.toggle("active", p.id === "pane-" + b.dataset.tab);
    $("controls").style.visibility = b.dataset.tab === "attention" ? "hidden" : "visible";
  });
}

// ---- streaming ---------------------------------------------------------------

// stream posts body to path and calls onData with each SSE data payload
// (parsed JSON) until [DONE].
async function stream(path, body, onData, signal) {
  const resp = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body), signal });
  if (!resp.ok) throw new Error(await errorText(resp));
  const reader = resp.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") return;
        const j = JSON.parse(data);
        if (j.error) throw new Error(j.error.message);
        onData(j);
      }
    }
  }
}

// probColour maps a probability to a background: red (unlikely) through
// yellow to green (likely).
function probColour(p) {
  const hue = Math.round(130 * Math.max(0, Math.min(1, p)));
  return "hsl(" + hue + " 70% 82%)";
}

// appendTokens adds text to el, one span per token when log-probabilities
// came with it.
function appendTokens(el, text, tokens) {
  if (!tokens || !tokens.length || !$("colour").checked) {
    if (text) el.appendChild(document.createTextNode(text));
    return;
  }
  for (const t of tokens) {
    const span = document.createElement("span");
    const p = Math.exp(t.logprob);
    span.className = "tok";
    span.textContent = t.token;
    span.style.background = probColour(p);
    span.title = "p = " + p.toFixed(3) + (t.alternatives ? "\n" + t.alternatives : "");
    el.appendChild(span);
  }
}

function timer() {
  const start = performance.now();
  let first = 0, n = 0;
  return {
    token(k) { if (!first) first = performance.now(); n += k; },
    done(usage) {
      const end = performance.now();
      const tokens = (usage && usage.completion_tokens) || n;
      const rate = first && end > first ? (tokens - 1) / ((end - first) / 1000) : 0;
      $("stats").textContent = tokens + " tokens, first after " + Math.round(first - start) + " ms, " + rate.toFixed(0) + " tokens/s";
    },
  };
}

function busy(on, stopButton) {
  $(stopButton).disabled = !on;
  $("chat-send").disabled = on;
  $("generate").disabled = on;
}

// ---- chat ------------------------------------------------------------------------

function addMessage(role, text) {
  const div = document.createElement("div");
  div.className = "msg " + role;
  div.textContent = text;
  $("messages").appendChild(div);
  $("messages").scrollTop = $("messages").scrollHeight;
  return div;
}

async function sendChat() {
  const text = $("chat-input").value.trim();
  if (!text || state.abort) return;
  $("chat-input").value = "";
  state.messages.push({ role: "user", content: text });
  addMessage("user", text);
  const div = addMessage("assistant", "");
  div.classList.add("streaming");
  const body = Object.assign(sampling(), { messages: state.messages, stream: true, stream_options: { include_usage: true } });
  if ($("colour").checked) Object.assign(body, { logprobs: true, top_logprobs: 3 });
  let reply = "", usage = null;
  const t = timer();
  state.abort = new AbortController();
  busy(true, "chat-stop");
  try {
    await stream("v1/chat/completions", body, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices || []) {
        const content = c.delta && c.delta.content;
        const lp = c.logprobs && c.logprobs.content;
        if (content) reply += content;
        if (lp && lp.length) {
          t.token(lp.length);
          appendTokens(div, content, lp.map((l) => ({ token: l.token, logprob: l.logprob,
            alternatives: (l.top_logprobs || []).map((a) => JSON.stringify(a.token) + " " + Math.exp(a.logprob).toFixed(3)).join("\n") })));
        } else if (content) {
          t.token(1);
          appendTokens(div, content, null);
        }
        if (c.finish_reason) div.dataset.finish = c.finish_reason;
      }
      $("messages").scrollTop = $("messages").scrollHeight;
    }, state.abort.signal);
    t.done(usage);
  } catch (e) {
    if (e.name !== "AbortError") {
      div.classList.add("error");
      div.appendChild(document.createTextNode(" [" + e.message + "]"));
    }
  } finally {
    div.classList.remove("streaming");
    div.classList.add("done");
    state.messages.push({ role: "assistant", content: reply });
    state.abort = null;
    busy(false, "chat-stop");
  }
}

$("chat-form").addEventListener("submit", (e) => { e.preventDefault(); sendChat(); });
$("chat-input").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); sendChat(); }
});
$("chat-stop").addEventListener("click", () => state.abort && state.abort.abort());
$("chat-clear").addEventListener("click", () => { state.messages = []; $("messages").innerHTML = ""; });

// ---- completion ------------------------------------------------------------------

async function complete() {
  if (state.abort) return;
  const prompt = $("prompt").value;
  const out = $("output");
  out.innerHTML = "";
  out.dataset.state = "streaming";
  const p = document.createElement("span");
  p.className = "prompt";
  p.textContent = prompt;
  out.appendChild(p);
  const body = Object.assign(sampling(), { prompt, stream: true, stream_options: { include_usage: true } });
  if ($("colour").checked) body.logprobs = 3;
  let usage = null;
  const t = timer();
  state.abort = new AbortController();
  busy(true, "completion-stop");
  try {
    await stream("v1/completions", body, (chunk) => {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices || []) {
        const lp = c.logprobs;
        if (lp && lp.tokens && lp.tokens.length) {
          t.token(lp.tokens.length);
          appendTokens(out, c.text, lp.tokens.map((tok, i) => ({ token: tok, logprob: lp.token_logprobs[i],
            alternatives: Object.entries(lp.top_logprobs[i] || {}).map(([k, v]) => JSON.stringify(k) + " " + Math.exp(v).toFixed(3)).join("\n") })));
        } else if (c.text) {
          t.token(1);
          appendTokens(out, c.text, null);
        }
      }
    }, state.abort.signal);
    t.done(usage);
  } catch (e) {
    if (e.name !== "AbortError") {
      const err = document.createElement("span");
      err.className = "error";
      err.textContent = " [" + e.message + "]";
      out.appendChild(err);
    }
  } finally {
    out.dataset.state = "done";
    state.abort = null;
    busy(false, "completion-stop");
  }
}

$("generate").addEventListener("click", complete);
$("completion-stop").addEventListener("click", () => state.abort && state.abort.abort());

// ---- attention ---------------------------------------------------------------------

async function runAttention() {
  $("att-info").textContent = "…";
  try {
    const resp = await fetch("v1/attention", { method: "POST", headers: headers(),
      body: JSON.stringify({ model: $("model").value, prompt: $("att-prompt").value }) });
    if (!resp.ok) throw new Error(await errorText(resp));
    const a = await resp.json();
    state.attention = a;
    fillSelect($("att-layer"), a.layers, "layer");
    fillSelect($("att-head"), a.heads, "head");
    $("att-layer").value = String(a.layers - 1);
    drawAttention();
  } catch (e) {
    $("att-info").textContent = e.message;
    state.attention = null;
  }
}

function fillSelect(sel, n, name) {
  const keep = sel.value;
  sel.innerHTML = "";
  for (let i = 0; i < n; i++) {
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = name + " " + i;
    sel.appendChild(o);
  }
  if (keep !== "" && Number(keep) < n) sel.value = keep;
}

// heat maps a probability to a colour: white through blue to near black;
// the square root spreads the small probabilities most cells hold.
function heat(p) {
  const x = Math.sqrt(Math.max(0, Math.min(1, p)));
  const stops = [[255, 255, 255], [120, 170, 220], [40, 70, 150], [10, 15, 50]];
  const f = x * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(f)), u = f - i;
  const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * u));
  return "rgb(" + c.join(",") + ")";
}

const layout = { margin: 110, cell: 0 };

function drawAttention() {
  const a = state.attention;
  if (!a) return;
  const L = Number($("att-layer").value), H = Number($("att-head").value);
  const m = a.attention[L][H], T = a.tokens.length;
  const cv = $("heatmap"), ctx = cv.getContext("2d");
  const cell = Math.max(4, Math.floor(Math.min(36, 520 / T)));
  layout.cell = cell;
  cv.width = layout.margin + T * cell + 10;
  cv.height = layout.margin + T * cell + 10;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, cv.width, cv.height);
  for (let q = 0; q < T; q++) {
    for (let k = 0; k < T; k++) {
      ctx.fillStyle = heat(m[q][k]);
      ctx.fillRect(layout.margin + k * cell, layout.margin + q * cell, cell, cell);
    }
  }
  ctx.fillStyle = "#1d1f21";
  ctx.font = Math.min(13, Math.max(8, cell - 2)) + "px ui-monospace, monospace";
  ctx.textBaseline = "middle";
  const label = (t) => JSON.stringify(t.text).slice(1, -1).slice(0, 12);
  for (let i = 0; i < T; i++) {
    ctx.textAlign = "right";
    ctx.fillText(label(a.tokens[i]), layout.margin - 4, layout.margin + i * cell + cell / 2);
    ctx.save();
    ctx.translate(layout.margin + i * cell + cell / 2, layout.margin - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "left";
    ctx.fillText(label(a.tokens[i]), 0, 0);
    ctx.restore();
  }
  cv.dataset.layer = String(L);
  cv.dataset.head = String(H);
  cv.dataset.tokens = String(T);
  $("att-info").textContent = a.model + ": " + T + " tokens, " + a.layers + " layers × " + a.heads + " heads";
}

$("att-run").addEventListener("click", runAttention);
$("att-layer").addEventListener("change", drawAttention);
$("att-head").addEventListener("change", drawAttention);
$("heatmap").addEventListener("mousemove", (e) => {
  const a = state.attention;
  if (!a || !layout.cell) return;
  const r = e.target.getBoundingClientRect();
  const sx = e.target.width / r.width;
  const k = Math.floor(((e.clientX - r.left) * sx - layout.margin) / layout.cell);
  const q = Math.floor(((e.clientY - r.top) * sx - layout.margin) / layout.cell);
  const T = a.tokens.length;
  if (q < 0 || k < 0 || q >= T || k >= T) { $("att-hover").textContent = ""; return; }
  const p = a.attention[Number($("att-layer").value)][Number($("att-head").value)][q][k];
  $("att-hover").textContent = JSON.stringify(a.tokens[q].text) + " → " + JSON.stringify(a.tokens[k].text) + ": " + p.toFixed(4);
});

loadModels();
