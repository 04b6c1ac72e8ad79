// Compiles contracts/src/*.sol with the pinned solcjs and OpenZeppelin into contracts/artifacts/
// (<Name>.abi, <Name>.bin). Offline: imports are read from node_modules. Run via `make contracts`.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const root = __dirname;
const srcDir = path.join(root, 'src');
const outDir = path.join(root, 'artifacts');
const contracts = ['ModelToken', 'ModelGovernor', 'ModelTimelock', 'ModelRegistry'];

const sources = {};
for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[`src/${f}`] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };
}

const input = {
  language: 'Solidity',
  sources,
  settings: {
    evmVersion: 'cancun',
    viaIR: true,
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: 'none', appendCBOR: false },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};

function findImports(p) {
  for (const base of [path.join(root, 'node_modules'), root]) {
    const full = path.join(base, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
  }
  return { error: `import not found: ${p} (run "npm ci" in contracts/)` };
}

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
let failed = false;
for (const e of out.errors || []) {
  if (e.severity === 'error') {
    failed = true;
    console.error(e.formattedMessage);
  } else if (!/promoted to keyword/.test(e.message) && !e.sourceLocation?.file?.startsWith('@openzeppelin')) {
    console.warn(e.formattedMessage);
  }
}
if (failed) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
for (const name of contracts) {
  const file = Object.keys(out.contracts).find((f) => out.contracts[f][name]);
  const c = out.contracts[file][name];
  const runtime = c.evm.deployedBytecode.object.length / 2;
  fs.writeFileSync(path.join(outDir, `${name}.abi`), JSON.stringify(c.abi, null, 1) + '\n');
  fs.writeFileSync(path.join(outDir, `${name}.bin`), c.evm.bytecode.object + '\n');
  console.log(`${name}: ${runtime} bytes of runtime code${runtime > 24576 ? ' (OVER the 24576-byte EIP-170 limit)' : ''}`);
  if (runtime > 24576) failed = true;
}
console.log(`solc ${solc.version()}`);
if (failed) process.exit(1);
