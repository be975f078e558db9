// The official openai client against glossa serve on stories260K and an encoder.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startServer, haveModel, need, model, encoder, seq2seq } from "./server.mjs";

const key = "e2e-secret";
let srv, client;

before(async () => {
  if (!haveModel()) return;
  srv = await startServer({ apiKey: key });
  client = new OpenAI({ baseURL: srv.url + "/v1", apiKey: key, maxRetries: 0 });
});

after(async () => {
  if (srv) await srv.stop();
});

const messages = [{ role: "user", content: "Once upon a time, Lily" }];

test("models", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), [model, encoder, seq2seq]);
  assert.deepEqual(list.data[2].tasks, ["translation", "summarization", "text2text-generation"]);
});

test("chat completion, not streamed", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const r = await client.chat.completions.create({ model, messages, max_tokens: 40, seed: 7, temperature: 0.7 });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(r.choices[0].message.role, "assistant");
  assert.ok(r.choices[0].message.content.length > 0);
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
});

test("chat completion streamed with the .stream() helper", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const stream = client.chat.completions.stream({ model, messages, max_tokens: 40, seed: 7, temperature: 0.7, n: 2,
    stream_options: { include_usage: true } });
  let deltas = 0;
  stream.on("content", () => { deltas++; });
  // finalChatCompletion checks that each choice has a role and a finish_reason.
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices.length, 2);
  for (const [i, c] of final.choices.entries()) {
    assert.equal(c.index, i);
    assert.equal(c.message.role, "assistant");
    assert.ok(c.message.content.length > 0);
    assert.ok(["stop", "length"].includes(c.finish_reason));
  }
  assert.ok(deltas > 2, `only ${deltas} content deltas`);
  assert.ok(final.usage && final.usage.completion_tokens > 0);
  // The same seed without streaming gives the same first choice.
  const whole = await client.chat.completions.create({ model, messages, max_tokens: 40, seed: 7, temperature: 0.7 });
  assert.equal(final.choices[0].message.content, whole.choices[0].message.content);
});

test("completions", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const r = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 20, temperature: 0 });
  assert.equal(r.object, "text_completion");
  assert.match(r.choices[0].text, /^, there was a little girl named Lily\./);
  assert.equal(r.choices[0].finish_reason, "length");
  const s = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 20, temperature: 0, stream: true });
  let text = "", reason = null;
  for await (const chunk of s) {
    text += chunk.choices[0]?.text ?? "";
    reason = chunk.choices[0]?.finish_reason ?? reason;
  }
  assert.equal(text, r.choices[0].text);
  assert.equal(reason, "length");
});

test("logprobs", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const r = await client.chat.completions.create({ model, messages, max_tokens: 10, logprobs: true, top_logprobs: 3, temperature: 0 });
  const content = r.choices[0].logprobs.content;
  assert.ok(content.length > 0);
  for (const lp of content) {
    assert.equal(typeof lp.token, "string");
    assert.ok(lp.logprob <= 0);
    assert.ok(Array.isArray(lp.bytes));
    assert.equal(lp.top_logprobs.length, 3);
    // Greedy: the chosen token is the most likely one.
    assert.equal(lp.top_logprobs[0].logprob, lp.logprob);
  }
  assert.equal(content.map((l) => l.token).join(""), r.choices[0].message.content);
  const c = await client.completions.create({ model, prompt: "Once upon a time", max_tokens: 5, logprobs: 2 });
  const lp = c.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.ok(Object.keys(lp.top_logprobs[0]).length <= 2);
});

test("response_format json_schema", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const schema = {
    type: "object",
    properties: {
      name: { type: "string", maxLength: 16 },
      age: { type: "integer" },
      mood: { enum: ["happy", "sad", "sleepy"] },
      friends: { type: "array", items: { type: "string", maxLength: 10 }, maxItems: 3 },
    },
    required: ["name", "age", "mood"],
    additionalProperties: false,
  };
  for (const seed of [1, 2, 3]) {
    const r = await client.chat.completions.create({ model, messages, max_tokens: 400, seed,
      response_format: { type: "json_schema", json_schema: { name: "kid", schema, strict: true } } });
    assert.equal(r.choices[0].finish_reason, "stop");
    const v = JSON.parse(r.choices[0].message.content);
    assert.equal(typeof v.name, "string");
    assert.ok(v.name.length <= 16);
    assert.ok(Number.isInteger(v.age));
    assert.ok(["happy", "sad", "sleepy"].includes(v.mood));
    for (const k of Object.keys(v)) assert.ok(k in schema.properties, `unexpected key ${k}`);
  }
});

test("embeddings from an encoder", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const input = ["The cat sat on the mat.", "Stocks fell sharply today."];
  // The client asks for base64 unless told otherwise and decodes it.
  const b64 = await client.embeddings.create({ model: encoder, input });
  const floats = await client.embeddings.create({ model: encoder, input, encoding_format: "float" });
  assert.equal(b64.object, "list");
  assert.equal(b64.model, encoder);
  assert.equal(b64.data.length, 2);
  for (const [i, d] of floats.data.entries()) {
    assert.equal(d.object, "embedding");
    assert.equal(d.index, i);
    assert.equal(d.embedding.length, 32);
    // JSON carries each float32 in its shortest form: rounded back, it is the base64 value.
    assert.deepEqual(Array.from(b64.data[i].embedding), d.embedding.map(Math.fround));
    const norm = Math.hypot(...d.embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5, `norm ${norm}`);
  }
  assert.ok(b64.usage.prompt_tokens > 4 && b64.usage.total_tokens === b64.usage.prompt_tokens);
  const short = await client.embeddings.create({ model: encoder, input: input[0], dimensions: 8, encoding_format: "float" });
  assert.equal(short.data[0].embedding.length, 8);
  // Token arrays are read as they are.
  const ids = await client.embeddings.create({ model: encoder, input: [[101, 7592, 2088, 102]], encoding_format: "float" });
  assert.equal(ids.usage.prompt_tokens, 4);
  const text = await client.embeddings.create({ model: encoder, input: "hello world", encoding_format: "float" });
  assert.deepEqual(ids.data[0].embedding, text.data[0].embedding);
});

test("embeddings on a causal LM: 400 naming the model", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  await assert.rejects(client.embeddings.create({ model, input: "hello" }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
    assert.match(e.message, /needs an encoder/);
    return true;
  });
});

test("rerank and classify on the encoder", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const post = async (route, body) => {
    const r = await fetch(srv.url + route, { method: "POST", headers: { Authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
  const docs = ["the cat sat", "stocks fell", "a dog barked", "rain all day"];
  const rr = await post("/v1/rerank", { model: encoder, query: "cats", documents: docs, top_n: 3, return_documents: true });
  assert.equal(rr.status, 200);
  assert.equal(rr.body.results.length, 3);
  for (const [k, r] of rr.body.results.entries()) {
    assert.equal(r.document.text, docs[r.index]);
    if (k > 0) assert.ok(r.relevance_score <= rr.body.results[k - 1].relevance_score);
  }
  const cls = await post("/v1/classify", { model: encoder, inputs: "I love it", top_k: null });
  assert.equal(cls.status, 200);
  assert.deepEqual(cls.body.map((c) => c.label).sort(), ["negative", "neutral", "positive"]);
  const bad = await post("/v1/fill-mask", { model: encoder, inputs: "a [MASK]" });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /BertForSequenceClassification/);
});

const tools = [{ type: "function", function: { name: "get_weather", description: "The weather in a city",
  parameters: { type: "object", properties: { city: { type: "string", maxLength: 10 }, unit: { enum: ["c", "f"] } },
    required: ["city", "unit"], additionalProperties: false } } }];

function checkCall(call) {
  assert.equal(call.type, "function");
  assert.match(call.id, /^call_/);
  assert.equal(call.function.name, "get_weather");
  const args = JSON.parse(call.function.arguments);
  assert.equal(typeof args.city, "string");
  assert.ok(args.city.length <= 10);
  assert.ok(["c", "f"].includes(args.unit));
  assert.deepEqual(Object.keys(args).sort(), ["city", "unit"]);
}

test("tool calls, named and required", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const tool_choice = { type: "function", function: { name: "get_weather" } };
  const r = await client.chat.completions.create({ model, messages, tools, tool_choice, max_tokens: 150, seed: 3 });
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.equal(r.choices[0].message.content, null);
  assert.equal(r.choices[0].message.tool_calls.length, 1);
  checkCall(r.choices[0].message.tool_calls[0]);
  // The stream helper accumulates tool call deltas by their index.
  const stream = client.chat.completions.stream({ model, messages, tools, tool_choice: "required", max_tokens: 150, seed: 4 });
  let done = 0;
  stream.on("tool_calls.function.arguments.done", () => { done++; });
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, "tool_calls");
  assert.equal(final.choices[0].message.tool_calls.length, 1);
  checkCall(final.choices[0].message.tool_calls[0]);
  assert.equal(done, 1);
  // The call and its result go back in: role tool is accepted.
  const next = await client.chat.completions.create({ model, max_tokens: 20, tools, messages: [...messages,
    final.choices[0].message, { role: "tool", tool_call_id: final.choices[0].message.tool_calls[0].id, content: "sunny" }] });
  assert.ok(["stop", "length", "tool_calls"].includes(next.choices[0].finish_reason));
});

test("tool calls of one of two tools, streamed as they are decoded", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  // Two small tools: the prompt that describes them leaves room in stories260K's 512 positions.
  const two = [{ type: "function", function: { name: "get_time",
    parameters: { type: "object", properties: { zone: { type: "string", maxLength: 4 } }, required: ["zone"], additionalProperties: false } } },
  { type: "function", function: { name: "get_day", parameters: { type: "object", properties: {}, additionalProperties: false } } }];
  const stream = client.chat.completions.stream({ model, messages, tools: two, tool_choice: "required", max_tokens: 100, seed: 11 });
  let fragments = 0, opened = 0;
  stream.on("chunk", (c) => {
    for (const d of c.choices[0]?.delta?.tool_calls ?? []) {
      assert.equal(d.index, 0);
      if (d.id) {
        opened++;
        assert.equal(d.type, "function");
        assert.ok(["get_time", "get_day"].includes(d.function.name));
      } else if (d.function?.arguments) fragments++;
    }
  });
  const final = await stream.finalChatCompletion();
  assert.equal(final.choices[0].finish_reason, "tool_calls");
  assert.equal(opened, 1);
  const call = final.choices[0].message.tool_calls[0];
  const args = JSON.parse(call.function.arguments);
  if (call.function.name === "get_time") assert.ok(typeof args.zone === "string" && args.zone.length <= 4);
  else assert.deepEqual(args, {});
  // The arguments came in fragments (held only while the model writes
  // "arguments" before "name").
  assert.ok(fragments >= 1, `${fragments} argument fragments`);
});

test("completions on an encoder-decoder", async (t) => {
  if (!need(t, srv, "shared/fixtures/" + seq2seq)) return;
  const prompt = "Two dogs play in the snow.";
  const r = await client.completions.create({ model: seq2seq, prompt, max_tokens: 8, temperature: 0, num_beams: 1 });
  assert.equal(r.object, "text_completion");
  assert.ok(r.choices[0].text.length > 0);
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);
  // Streamed, the deltas add up to the same text.
  const s = await client.completions.create({ model: seq2seq, prompt, max_tokens: 8, temperature: 0, num_beams: 1, stream: true });
  let text = "", finish = null;
  for await (const c of s) {
    text += c.choices[0]?.text ?? "";
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(text, r.choices[0].text);
  assert.equal(finish, r.choices[0].finish_reason);
  // Beam search does not stream: a 400 naming the field.
  await assert.rejects(client.completions.create({ model: seq2seq, prompt, num_beams: 2, stream: true }),
    (e) => e.status === 400 && e.error?.param === "stream");
  // The HF task route answers in the pipeline's shape.
  const res = await fetch(srv.url + "/v1/translation", { method: "POST", headers: { Authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: seq2seq, inputs: [prompt], parameters: { num_beams: 2, max_new_tokens: 8 } }) });
  assert.equal(res.status, 200);
  const out = await res.json();
  assert.equal(out.length, 1);
  assert.equal(typeof out[0].translation_text, "string");
});

test("401 with a wrong key", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  const bad = new OpenAI({ baseURL: srv.url + "/v1", apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(bad.chat.completions.create({ model, messages }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, e.constructor.name);
    assert.equal(e.status, 401);
    assert.equal(e.code, "invalid_api_key");
    return true;
  });
});

test("404 for an unknown model", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  await assert.rejects(client.chat.completions.create({ model: "gpt-9", messages }), (e) => {
    assert.ok(e instanceof OpenAI.NotFoundError, e.constructor.name);
    assert.equal(e.status, 404);
    assert.equal(e.code, "model_not_found");
    return true;
  });
});

test("400 for a max_tokens beyond the context", async (t) => {
  if (!need(t, srv, "shared/models/stories260K")) return;
  await assert.rejects(client.chat.completions.create({ model, messages, max_tokens: 100000 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError, e.constructor.name);
    assert.match(e.message, /512/);
    return true;
  });
});
