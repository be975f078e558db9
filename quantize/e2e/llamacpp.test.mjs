// Interop: a file written by "glossa quantize" (llama2.c's stories260K → Q8_0 and Q4_0) loads in llama.cpp
// (node-llama-cpp 3.22.1, its prebuilt CPU binary), which tokenizes the prompts as Glossa does and generates the
// same greedy ids and text as "glossa generate --dtype stored" (the file's own types) on the same file, up to the
// first near-tie. GPT-2 too: a Hugging Face GPT-2 folder as llama.cpp's "gpt2" architecture, F32 and Q8_0.
//
// Near-ties: both engines quantize the activations to Q8_0 blocks before a quantized dot product, but sum in
// another order, so logits differ in the last bits (≤ 1e-4 at the first position, models/llama tests). Now and
// then that moves an activation across a rounding boundary of its Q8_0 block, and from that step the logits differ
// by 0.1–0.3 (measured there), so where llama.cpp's top-2 margin is below FLIP the engines may rightly pick
// different ids, and from there the texts part. So the ids must agree until a step whose margin is below FLIP,
// the texts must agree over those steps, and that must leave at least MIN_COMPARED steps per file.
//
// Env: GLOSSA_BIN (the glossa binary, required), GLOSSA_SHARED (default ../../../shared).
import {test} from "node:test";
import assert from "node:assert/strict";
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {fileURLToPath} from "node:url";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GLOSSA = process.env.GLOSSA_BIN;
const SHARED = path.resolve(process.env.GLOSSA_SHARED || path.join(HERE, "..", "..", "..", "shared"));
const STEPS_MAX = 120;
const FLIP = 0.1;
const MIN_COMPARED = 40;
const PROMPTS = ["Once upon a time", "The little dog", "Lily and Ben went to the park"];

function glossa(...args) {
    return execFileSync(GLOSSA, args, {encoding: "utf8", stdio: ["ignore", "pipe", "pipe"]});
}

function margin(logits) {
    let m1 = -Infinity, m2 = -Infinity, best = -1;
    for (const [t, v] of logits) {
        if (v > m1) { m2 = m1; m1 = v; best = t; } else if (v > m2) m2 = v;
    }
    return {best, margin: m1 - m2};
}

// Greedy decoding in llama.cpp with the raw logits of every step.
async function llamaGreedy(seq, prompt, n) {
    await seq.clearHistory();
    const ids = [], margins = [];
    let input = prompt;
    for (let step = 0; step < n; step++) {
        const items = input.map((t, i) => i === input.length - 1 ? [t, {generateNext: {logits: true}}] : t);
        const res = await seq.controlledEvaluate(items);
        const {best, margin: m} = margin(res[items.length - 1].next.logits);
        ids.push(best);
        margins.push(m);
        input = [best];
    }
    return {ids, margins};
}

// compareGreedy checks one prompt on one file; it returns the steps on which both engines agree.
// ctxLen bounds prompt and continuation (STEPS at most). With text the decoded texts are compared too
// (not for GPT-2: llama.cpp's detokenizer cleans up spaces before punctuation, " ..." → "...", as Hugging Face's
// clean_up_tokenization_spaces does, while Glossa prints the tokens' bytes as tiktoken does).
async function compareGreedy(model, seq, file, prompt, bos, ctxLen, text, where) {
    const promptIds = [...(bos >= 0 ? [bos] : []), ...model.tokenize(prompt)];
    const STEPS = Math.min(STEPS_MAX, ctxLen - promptIds.length);
    const glossaPrompt = glossa("tokenize", "--tokenizer", file, prompt).trim().split(/\s+/).map(Number);
    assert.deepEqual(glossaPrompt, promptIds, `${where}: prompt ids`);
    const ref = await llamaGreedy(seq, promptIds, STEPS);
    const got = glossa("generate", "--model", file, "--dtype", "stored", "--cache-type", "f32", "--temperature", "0", "--print-ids",
        "--max-new-tokens", String(STEPS), prompt).trim().split(/\s+/).map(Number);
    let k = 0;
    while (k < STEPS && got[k] === ref.ids[k]) k++;
    if (k < STEPS) {
        console.log(`# ${where}: ids part at step ${k}, llama.cpp's top-2 margin there ${ref.margins[k].toFixed(4)}`);
        assert.ok(ref.margins[k] < FLIP, `${where}: greedy ids part at step ${k}, where llama.cpp's top-2 margin ${ref.margins[k]} is not below ${FLIP}`);
    }
    if (k === 0 || !text) return k;
    // The same text: Glossa prints the prompt, the continuation and a newline.
    const out = glossa("generate", "--model", file, "--dtype", "stored", "--cache-type", "f32", "--temperature", "0", "--max-new-tokens", String(k), prompt);
    const want = model.detokenize([...promptIds.slice(bos >= 0 ? 1 : 0), ...ref.ids.slice(0, k)]); // without BOS: SPM drops the first space
    assert.equal(out, want + "\n", `${where}: greedy text of the first ${k} steps`);
    return k;
}

test("glossa quantize output runs in llama.cpp with Glossa's greedy text", async () => {
    assert.ok(GLOSSA, "set GLOSSA_BIN to the glossa binary");
    const bin = path.join(SHARED, "models", "stories260K", "stories260K.bin");
    const tok = path.join(SHARED, "models", "stories260K", "tok512.bin");
    assert.ok(fs.existsSync(bin), "shared data missing: " + bin);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glossa-quantize-e2e-"));
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1, progressLogs: false});
    try {
        for (const type of ["q8_0", "q4_0"]) {
            const file = path.join(dir, "stories260K-" + type + ".gguf");
            glossa("quantize", bin, "--tokenizer", tok, "--type", type, "--out", file, "--quiet");
            const model = await llama.loadModel({modelPath: file});
            // F32 KV cache and no flash attention: the set-up of ../../../shared/golden/llamacpp.
            const ctx = await model.createContext({contextSize: 512, batchSize: 512, threads: 1, sequences: 1,
                experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false});
            const seq = ctx.getSequence();
            let compared = 0;
            for (const prompt of PROMPTS)
                compared += await compareGreedy(model, seq, file, prompt, 1, 512, true, `${type} ${JSON.stringify(prompt)}`);
            assert.ok(compared >= MIN_COMPARED, `${type}: only ${compared} steps before near-ties`);
            console.log(`# ${type}: ${compared} greedy steps equal over ${PROMPTS.length} prompts`);
            await ctx.dispose();
            await model.dispose();
        }
    } finally {
        await llama.dispose();
        fs.rmSync(dir, {recursive: true, force: true});
    }
});

// GPT-2: ../shared/fixtures/gpt2-tiny (random weights) with GPT-2's BPE vocabulary and merges, as llama.cpp's "gpt2"
// architecture in F32 and Q8_0.
test("glossa quantize writes GPT-2 files llama.cpp runs with Glossa's greedy ids", async () => {
    assert.ok(GLOSSA, "set GLOSSA_BIN to the glossa binary");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "glossa-quantize-e2e-gpt2-"));
    const folder = path.join(dir, "gpt2-tiny");
    fs.mkdirSync(folder);
    for (const [from, to] of [[["fixtures", "gpt2-tiny", "config.json"], "config.json"],
        [["fixtures", "gpt2-tiny", "model.safetensors"], "model.safetensors"],
        [["tokenizers", "gpt2", "encoder.json"], "encoder.json"], [["tokenizers", "gpt2", "vocab.bpe"], "vocab.bpe"]]) {
        const p = path.join(SHARED, ...from);
        assert.ok(fs.existsSync(p), "shared data missing: " + p);
        fs.symlinkSync(p, path.join(folder, to));
    }
    const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 1, progressLogs: false});
    try {
        for (const type of ["f32", "q8_0"]) {
            const file = path.join(dir, "gpt2-tiny-" + type + ".gguf");
            glossa("quantize", folder, "--type", type, "--out", file, "--quiet");
            const model = await llama.loadModel({modelPath: file});
            const ctx = await model.createContext({contextSize: 64, batchSize: 64, threads: 1, sequences: 1,
                experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", flashAttention: false});
            const seq = ctx.getSequence();
            let compared = 0;
            for (const prompt of ["Hello, my dog is cute", "The quick brown fox"])
                compared += await compareGreedy(model, seq, file, prompt, -1, 64, false, `gpt2 ${type} ${JSON.stringify(prompt)}`);
            assert.ok(compared >= 20, `gpt2 ${type}: only ${compared} steps before near-ties`);
            console.log(`# gpt2 ${type}: ${compared} greedy steps equal`);
            await ctx.dispose();
            await model.dispose();
        }
    } finally {
        await llama.dispose();
        fs.rmSync(dir, {recursive: true, force: true});
    }
});
