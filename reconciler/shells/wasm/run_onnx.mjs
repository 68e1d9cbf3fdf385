// Runs an ONNX model with onnxruntime-web (WebAssembly backend) under Node and prints one JSON result line.
//   node run_onnx.mjs <request.json>
// request: {"model": path, "inputs": {name: {"dims": [...], "data": [...]}}, "latency_input": name|null,
//           "repeats": n, "node_modules": dir}
// reply:   {"ok": true, "runtime": "onnxruntime-web x.y.z", "node": "v20...", "outputs": {name: {dims, data}},
//           "latency_us_p50": n}   or   {"ok": false, "stage": "...", "error": "..."} with exit code 2.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

function fail(stage, error) {
  process.stdout.write(JSON.stringify({ ok: false, stage, error: String(error && error.stack || error) }) + "\n");
  process.exit(2);
}

const request = JSON.parse(readFileSync(process.argv[2], "utf8"));
let ort;
let version;
try {
  // The package lives outside this tree ($EDGEOPS_NODE_MODULES); resolve it from there, not from this file.
  const require = createRequire(join(request.node_modules, "noop.js"));
  ort = require("onnxruntime-web");
  // package.json is not in the package's "exports": read it from the resolved package folder.
  const entry = require.resolve("onnxruntime-web");
  const root = entry.slice(0, entry.lastIndexOf(join("onnxruntime-web", "dist")) + "onnxruntime-web".length);
  version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
} catch (error) {
  fail("import", error);
}

// One thread and no proxy worker: results must not depend on the machine's core count.
ort.env.wasm.numThreads = 1;
ort.env.wasm.proxy = false;
ort.env.logLevel = "error";

function toTensor({ dims, data }) {
  return new ort.Tensor("float32", Float32Array.from(data), dims);
}

let session;
try {
  session = await ort.InferenceSession.create(readFileSync(request.model), { executionProviders: ["wasm"] });
} catch (error) {
  fail("load", error);
}

const feeds = {};
for (const [name, value] of Object.entries(request.inputs)) feeds[name] = toTensor(value);

const outputs = {};
try {
  const results = await session.run(feeds);
  for (const [name, tensor] of Object.entries(results)) {
    outputs[name] = { dims: Array.from(tensor.dims), data: Array.from(tensor.data) };
  }
} catch (error) {
  fail("run", error);
}

// Latency at batch 1 (first row of the latency input), the unit the runtime serves one message at.
let latency = null;
if (request.latency_input && request.repeats > 0) {
  const full = request.inputs[request.latency_input];
  const width = full.dims.slice(1).reduce((a, b) => a * b, 1);
  const one = { ...feeds, [request.latency_input]: toTensor({ dims: [1, ...full.dims.slice(1)], data: full.data.slice(0, width) }) };
  for (let i = 0; i < 5; i++) await session.run(one);  // warm-up
  const samples = [];
  for (let i = 0; i < request.repeats; i++) {
    const start = process.hrtime.bigint();
    await session.run(one);
    samples.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  samples.sort((a, b) => a - b);
  latency = samples[Math.floor(samples.length / 2)];
}

process.stdout.write(JSON.stringify({
  ok: true, runtime: `onnxruntime-web ${version}`, node: process.version, outputs, latency_us_p50: latency,
}) + "\n");
