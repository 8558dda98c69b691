#!/usr/bin/env node
// Drops the closure invoke shims wasm-bindgen's descriptors left in the wasm's function table.
//
// Every closure type wasm-bindgen can describe, js-sys's unused ones included (`Int8Array`'s
// `forEach` callback, `Set`'s...), takes its invoke shim's address in a descriptor function. The
// CLI runs the descriptors, removes them and gives JavaScript the shims it needs as exports, but
// the table entries the descriptors made stay, and keep ~40 never-called shims alive (~600 bytes
// gzip, docs/benchmarks.md "Tracker size"). Rust only takes a shim's address in its descriptor,
// so no `call_indirect` reaches one: each entry is pointed at one `unreachable` function, and
// the optimiser removes the shims that are not exports. The shims are found by name (the wasm
// must still have its name section); nothing is changed, and the build fails, when the table is
// visible to JavaScript (imported or exported), where an entry could be read from outside.
// Usage: node prune-invoke-entries.mjs IN.wasm OUT.wasm BINARYEN.js (binaryen's JS API, the npm
// package wasm-opt comes from).
import fs from 'node:fs';

const [input, output, binaryenJs] = process.argv.slice(2);
const binaryen = (await import(binaryenJs)).default;
const fail = (why) => {
  console.error(`prune-invoke-entries: ${why}`);
  process.exit(1);
};
const SHIM = /^wasm_bindgen(\[[0-9a-f]+\])?::convert::closures::_::invoke::</;

const module = binaryen.readBinary(fs.readFileSync(input));
// What Rust's wasm32 target and wasm-bindgen emit (the flags `minify_wasm_names` gives wasm-opt).
const F = binaryen.Features;
module.setFeatures(F.MutableGlobals | F.NontrappingFPToInt | F.BulkMemory | F.BulkMemoryOpt |
  F.SignExt | F.ReferenceTypes | F.CallIndirectOverlong | F.Multivalue);

const tables = new Set();
for (let i = 0; i < module.getNumTables(); i++) {
  const table = binaryen.getTableInfo(module.getTableByIndex(i));
  if (table.module) fail(`table ${table.name} is imported`);
  tables.add(table.name);
}
for (let i = 0; i < module.getNumExports(); i++) {
  const exported = binaryen.getExportInfo(module.getExportByIndex(i));
  if (exported.kind === binaryen.ExternalTable && tables.has(exported.value)) {
    // wasm-bindgen's own externref table holds values, not functions: only funcref tables count.
    const type = binaryen.getTableInfo(module.getTable(exported.value)).type;
    if (type === binaryen.funcref) fail(`function table ${exported.value} is exported`);
  }
}

const stub = 'beacon$never_called';
module.addFunction(stub, binaryen.none, binaryen.none, [], module.unreachable());
let pruned = 0;
const segments = [];
for (let i = 0; i < module.getNumElementSegments(); i++) {
  segments.push(binaryen.getElementSegmentInfo(module.getElementSegmentByIndex(i)));
}
if (segments.some((s) => s.data.some((name) => /^\d+$/.test(name)))) fail('the wasm has no function names');
for (const segment of segments) {
  if (!segment.offset) continue; // passive: not in a table
  const data = segment.data.map((name) => (SHIM.test(name) ? (pruned++, stub) : name));
  const offset = binaryen.getExpressionInfo(segment.offset);
  if (offset.id !== binaryen.ConstId) fail(`element segment ${segment.name} has a computed offset`);
  module.removeElementSegment(segment.name);
  module.addActiveElementSegment(segment.table, segment.name, data, module.i32.const(offset.value));
}
if (!module.validate()) fail('the pruned wasm does not validate');
binaryen.setDebugInfo(true);
fs.writeFileSync(output, module.emitBinary());
console.error(`prune-invoke-entries: ${pruned} table entries pointed at ${stub}`);
