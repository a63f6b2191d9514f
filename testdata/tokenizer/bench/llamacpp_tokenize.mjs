// Measures llama.cpp's tokenizer throughput (through node-llama-cpp, as the oracle runs it) on a
// text file, for comparison with BenchmarkEncode in model/tokenizer.
//
//   ZOOMR_TOKENIZER_BENCH_TEXT=/tmp/bench.txt go test ./model/tokenizer -run TestWriteBenchText
//   node testdata/tokenizer/bench/llamacpp_tokenize.mjs --text /tmp/bench.txt --vocab qwen3 [--iters 5]
//        [--oracle ../shared/oracle] [--deps ~/.cache/zoomr-oracle]
//
// Prints one JSON line: bytes, tokens, the SHA-256 of the ids joined by "," (TestBenchTextMatchesLlamaCpp
// checks ours against it), best and median seconds per pass, MB/s (1 MB = 2^20 bytes, as Go's
// testing package reports). The timed call is model.tokenize(text) with special tokens not parsed,
// i.e. llama_tokenize(add_special=false, parse_special=false); it includes node-llama-cpp's
// conversion of the text to UTF-8 and of the ids back to JS (a small part of the time).
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {parseArgs} from "node:util";
import {pathToFileURL} from "node:url";

const {values: a} = parseArgs({options: {
  text: {type: "string"}, vocab: {type: "string", default: "qwen3"}, iters: {type: "string", default: "5"},
  oracle: {type: "string"}, deps: {type: "string"},
}});
if (!a.text) { console.error("--text FILE is required"); process.exit(2); }
const oracleDir = path.resolve(a.oracle ?? process.env.ZOOMR_ORACLE ?? path.join(import.meta.dirname, "../../../../shared/oracle"));
const {startLlama, vocabPath} = await import(pathToFileURL(path.join(oracleDir, "lib/runtime.mjs")).href);

const text = fs.readFileSync(a.text, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const {llama} = await startLlama({deps: a.deps});
const model = await llama.loadModel({modelPath: vocabPath(a.vocab), vocabOnly: true});

model.tokenize(text.slice(0, 1000), false); // warm up
const times = [];
let tokens = 0, idsSha256 = "";
for (let i = 0; i < Number(a.iters); i++) {
  const t0 = process.hrtime.bigint();
  const ids = model.tokenize(text, false);
  const t1 = process.hrtime.bigint();
  times.push(Number(t1 - t0) / 1e9);
  tokens = ids.length;
  idsSha256 = crypto.createHash("sha256").update(Array.from(ids).join(",")).digest("hex");
}
times.sort((x, y) => x - y);
const best = times[0], median = times[Math.floor(times.length / 2)];
console.log(JSON.stringify({vocab: a.vocab, bytes, tokens, ids_sha256: idsSha256, iters: times.length, best_s: best, median_s: median,
  mb_per_s_best: bytes / 1048576 / best, mb_per_s_median: bytes / 1048576 / median}));
await model.dispose();
await llama.dispose();
