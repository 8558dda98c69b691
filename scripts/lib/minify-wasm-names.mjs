#!/usr/bin/env node
// Rewrites wasm-bindgen's glue for a wasm whose import and export names wasm-opt shortened
// (`--minify-imports-and-exports-and-modules`): wasm-bindgen names every import after the
// browser API plus a 16-digit hash, so the names alone were ~2 KB gzip in the wasm and again in
// the glue. Usage: node minify-wasm-names.mjs GLUE.js MINIFIED.wasm MAP.json
// MAP is what wasm-opt printed: {"imports": [[module, name, new]], "exports": [[name, new]]}.
// Fails (exit 1) unless every renamed name is found exactly where expected, so a change in
// wasm-bindgen's glue stops the build instead of shipping a tracker that cannot start.
import fs from 'node:fs';

const [glueFile, wasmFile, mapFile] = process.argv.slice(2);
const fail = (why) => {
  console.error(`minify-wasm-names: ${why}`);
  process.exit(1);
};
let glue = fs.readFileSync(glueFile, 'utf8');
const map = JSON.parse(fs.readFileSync(mapFile, 'utf8'));
const wasmImports = WebAssembly.Module.imports(new WebAssembly.Module(fs.readFileSync(wasmFile)));
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// The one import module (the glue's import object key) and its new name.
const modules = [...new Set(map.imports.map(([module]) => module))];
const newModules = [...new Set(wasmImports.map((i) => i.module))];
if (modules.length !== 1 || newModules.length !== 1) fail(`expected one import module, got ${modules} -> ${newModules}`);
const moduleKey = JSON.stringify(modules[0]) + ':';
if (glue.split(moduleKey).length !== 2) fail(`the glue names ${moduleKey} other than once`);
glue = glue.replace(moduleKey, JSON.stringify(newModules[0]) + ':');

// Import functions: each is one key of the import object, `name:function` or `name(`.
for (const [, name, short] of map.imports) {
  const key = new RegExp(`(?<![\\w$])${escape(name)}(?=\\s*[:(])`, 'g');
  const found = glue.match(key) || [];
  if (found.length !== 1) fail(`import ${name} appears ${found.length} times as a key`);
  glue = glue.replace(key, short);
}

// Exports: always read as a property of the wasm's exports object, `x.name`.
for (const [name, short] of map.exports) {
  glue = glue.replace(new RegExp(`\\.${escape(name)}(?![\\w$])`, 'g'), `.${short}`);
}

// Every import of the minified wasm must now be a key of the glue's import object.
for (const { name } of wasmImports) {
  if (!new RegExp(`(?<![\\w$.])${escape(name)}\\s*[:(]`).test(glue)) fail(`the glue lacks import ${name}`);
}
fs.writeFileSync(glueFile, glue);
