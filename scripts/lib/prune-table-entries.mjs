#!/usr/bin/env node
// Points the wasm's function-table entries that no call can reach at one `unreachable` function,
// so the optimiser can drop the functions behind them (~800 bytes gzip, docs/benchmarks.md
// "Tracker size"). wasm-opt cannot tell: binaryen keeps every entry whose type some
// `call_indirect` has. Two kinds, both left by wasm-bindgen's build:
//
// - Closure invoke shims. Every closure type wasm-bindgen can describe, js-sys's unused ones
//   included (`Int8Array`'s `forEach` callback, `Set`'s...), takes its invoke shim's address in
//   a descriptor function. The CLI runs the descriptors, removes them and gives JavaScript the
//   shims it needs as exports; the table entries stay. Rust takes a shim's address nowhere else.
// - js-sys's JSPI task waker. Its vtable stays in the table, but a JSPI task is only spawned in
//   a module with `#[wasm_bindgen(jspi)]` exports; without them the CLI deletes the poll export
//   `__wbg_jspi_task_poll` and stubs the spawn imports (see its `transforms/jspi.rs`). Pruned
//   only when that export is gone.
//
// Functions are found by name (the wasm must still have its name section). Nothing is changed,
// and the build fails, when a function table is visible to JavaScript (imported or exported) or
// read by the wasm itself (`table.get`...), where an entry could be reached other than by a call.
// Usage: node prune-table-entries.mjs IN.wasm OUT.wasm BINARYEN.js (binaryen's JS API, the npm
// package wasm-opt comes from).
import fs from 'node:fs';

const [input, output, binaryenJs] = process.argv.slice(2);
const binaryen = (await import(binaryenJs)).default;
const fail = (why) => {
  console.error(`prune-table-entries: ${why}`);
  process.exit(1);
};
const HASH = '(\\[[0-9a-f]+\\])?';
const INVOKE = new RegExp(`^wasm_bindgen${HASH}::convert::closures::_::invoke::<`);
const JSPI = new RegExp(`^js_sys${HASH}::futures::jspi::`);

const module = binaryen.readBinary(fs.readFileSync(input));
// What Rust's wasm32 target and wasm-bindgen emit (the flags `minify_wasm_names` gives wasm-opt).
const F = binaryen.Features;
module.setFeatures(F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt |
  F.SignExt | F.ReferenceTypes | F.CallIndirectOverlong | F.Multivalue);

const funcTables = new Set();
for (let i = 0; i < module.getNumTables(); i++) {
  const ref = module.getTableByIndex(i);
  const table = binaryen.getTableInfo(ref);
  // wasm-bindgen's externref table holds values, not functions.
  if (binaryen._BinaryenTableGetType(ref) !== binaryen.funcref) continue;
  if (table.module) fail(`function table ${table.name} is imported`);
  funcTables.add(table.name);
}
const exported = [];
for (let i = 0; i < module.getNumExports(); i++) {
  const info = binaryen.getExportInfo(module.getExportByIndex(i));
  if (info.kind === binaryen.ExternalTable && funcTables.has(info.value)) {
    fail(`function table ${info.value} is exported`);
  }
  exported.push(info.name);
}
// Nor may the wasm read or change a function table other than by `call_indirect`.
const text = module.emitText();
for (const name of funcTables) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Any of the instruction's table operands (`table.copy` names two).
  const access = new RegExp(`\\(table\\.[a-z]+(?: \\$[^\\s)]+)*? \\$${escaped}[\\s)]`);
  if (access.test(text)) fail(`function table ${name} is accessed`);
}
const jspiUsed = exported.includes('__wbg_jspi_task_poll');
const dead = (name) => INVOKE.test(name) || (!jspiUsed && JSPI.test(name));

const stub = 'beacon$never_called';
module.addFunction(stub, binaryen.none, binaryen.none, [], module.unreachable());
const segments = [];
for (let i = 0; i < module.getNumElementSegments(); i++) {
  const ref = module.getElementSegmentByIndex(i);
  // A passive segment is in no table until `table.init`, refused above.
  if (!binaryen._BinaryenElementSegmentIsPassive(ref)) segments.push(binaryen.getElementSegmentInfo(ref));
}
if (segments.some((s) => s.data.some((name) => /^\d+$/.test(name)))) fail('the wasm has no function names');
let pruned = 0;
for (const segment of segments) {
  if (!funcTables.has(segment.table)) continue;
  const data = segment.data.map((name) => (dead(name) ? (pruned++, stub) : name));
  const offset = binaryen.getExpressionInfo(segment.offset);
  if (offset.id !== binaryen.ConstId) fail(`element segment ${segment.name} has a computed offset`);
  module.removeElementSegment(segment.name);
  module.addActiveElementSegment(segment.table, segment.name, data, module.i32.const(offset.value));
}
// None found: wasm-bindgen or rustc names them differently now (or no longer leaves them).
if (!segments.some((s) => s.data.some((name) => INVOKE.test(name)))) {
  fail('no closure invoke shim in the function table: check the names this script looks for');
}
if (!module.validate()) fail('the pruned wasm does not validate');
binaryen.setDebugInfo(true);
fs.writeFileSync(output, module.emitBinary());
console.error(`prune-table-entries: ${pruned} table entries pointed at ${stub}`);
