// Starts `glossa serve` on 127.0.0.1 with a random port on the shared
// stories260K model, the tiny encoder bert-tiny-cls and the tiny
// encoder-decoder bart-tiny, for the end-to-end tests. GLOSSA_BIN names the binary
// (built with `go build` when unset); GLOSSA_SHARED the shared folder
// (default ../../../shared from here, i.e. beside the repository).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");

export const model = "stories260K";

// need fails the run under CI and skips locally when a prerequisite is
// missing.
export function need(t, ok, what) {
  if (ok) return true;
  if (process.env.CI) throw new Error(`missing prerequisite: ${what}`);
  t.skip(`missing prerequisite: ${what}`);
  return false;
}

export function sharedDir() {
  return path.resolve(process.env.GLOSSA_SHARED || path.join(repo, "..", "shared"));
}

let built = null;

function binary() {
  if (process.env.GLOSSA_BIN) return process.env.GLOSSA_BIN;
  if (!built) {
    built = path.join(mkdtempSync(path.join(tmpdir(), "glossa-e2e-")), "glossa");
    const r = spawnSync("go", ["build", "-o", built, "./cmd/glossa"], { cwd: repo, stdio: "inherit" });
    if (r.status !== 0) throw new Error("go build ./cmd/glossa failed");
  }
  return built;
}

export function haveModel() {
  return existsSync(path.join(sharedDir(), "models", "stories260K", "stories260K.bin")) &&
    existsSync(path.join(sharedDir(), "fixtures", encoder, "model.safetensors")) &&
    existsSync(path.join(sharedDir(), "fixtures", seq2seq, "model.safetensors"));
}

// encoder is the encoder model served beside stories260K: a tiny
// BertForSequenceClassification with bert-base-uncased's tokenizer, so that
// embeddings, the task routes and rerank run on real text.
export const encoder = "bert-tiny-cls";

// seq2seq is the encoder-decoder served beside them: the tiny BART fixture
// written as a Hub folder with a Marian-layout tokenizer by
// internal/seq2seqfixture (its random weights still write words).
export const seq2seq = "bart-tiny";

let seq2seqDir = null;

function seq2seqArgs() {
  if (!seq2seqDir) {
    seq2seqDir = path.join(mkdtempSync(path.join(tmpdir(), "glossa-e2e-s2s-")), seq2seq);
    const r = spawnSync("go", ["run", "./internal/seq2seqfixture/cmd/seq2seqfixture", seq2seq, seq2seqDir],
      { cwd: repo, stdio: "inherit", env: { ...process.env, GLOSSA_SHARED: sharedDir() } });
    if (r.status !== 0) throw new Error("writing the seq2seq fixture folder failed");
  }
  return ["--model", `${seq2seq}=${seq2seqDir}`];
}

function encoderArgs() {
  return ["--model", path.join(sharedDir(), "fixtures", encoder), "--tokenizer", path.join(sharedDir(), "tokenizers", "bert-base-uncased")];
}

// startServer runs glossa serve and resolves once it is ready, with its
// base URL and a stop function (SIGTERM, then waits for the exit).
export async function startServer({ apiKey = "", extra = [] } = {}) {
  const dir = path.join(sharedDir(), "models", "stories260K");
  const args = ["serve", "--model", path.join(dir, "stories260K.bin"), "--tokenizer", path.join(dir, "tok512.bin"),
    ...encoderArgs(), ...seq2seqArgs(), "--addr", "127.0.0.1:0", "--parallel", "4", ...extra];
  if (apiKey) args.push("--api-key", apiKey);
  const proc = spawn(binary(), args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, GLOSSA_API_KEY: "" } });
  let log = "";
  proc.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on("exit", (code, sig) => resolve({ code, sig })));
  const url = await new Promise((resolve, reject) => {
    let out = "", base = "";
    const timer = setTimeout(() => reject(new Error("glossa serve did not start in 60 s:\n" + out + log)), 60000);
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) base = m[1];
      if (base && out.includes("ready:")) {
        clearTimeout(timer);
        resolve(base);
      }
    });
    exited.then(({ code }) => { clearTimeout(timer); reject(new Error(`glossa serve exited (${code}):\n${out}${log}`)); });
  });
  return {
    url,
    log: () => log,
    async stop() {
      proc.kill("SIGTERM");
      const { code, sig } = await exited;
      if (code !== 0) throw new Error(`glossa serve exited with ${code ?? sig} after SIGTERM:\n${log}`);
    },
  };
}
