// Benchmark of @openzeppelin/merkle-tree (the reference implementation), called by scripts/bench_merkle.py.
// usage: node scripts/bench_oz_merkle.mjs [--proofs] N [N ...]
// Prints one JSON line per size: {"lib":"oz","leaves":N,"build_s":..,"proofs_s":..|null,"root":"0x.."}
// Build = StandardMerkleTree.of(values, ['bytes32']) over N random 32-byte digests (hex strings, as OZ takes them).
// Proofs = tree.getProof(i) for every i (OZ's public API; it verifies each proof before returning it).
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { randomBytes } from 'node:crypto';

const args = process.argv.slice(2);
const proofs = args.includes('--proofs');
const sizes = args.filter(a => !a.startsWith('--')).map(Number);

// Untimed warm-up so the JIT compiles the hot paths before the first measured size.
{
  const warm = StandardMerkleTree.of(Array.from({ length: 2000 }, () => ['0x' + randomBytes(32).toString('hex')]), ['bytes32']);
  for (let i = 0; i < 2000; i++) warm.getProof(i);
}
for (const n of sizes) {
  const values = Array.from({ length: n }, () => ['0x' + randomBytes(32).toString('hex')]);
  let t = process.hrtime.bigint();
  const tree = StandardMerkleTree.of(values, ['bytes32']);
  const build = Number(process.hrtime.bigint() - t) / 1e9;
  let proofsS = null;
  if (proofs) {
    t = process.hrtime.bigint();
    let total = 0;
    for (let i = 0; i < n; i++) total += tree.getProof(i).length;
    proofsS = Number(process.hrtime.bigint() - t) / 1e9;
  }
  process.stdout.write(JSON.stringify({ lib: 'oz', leaves: n, build_s: build, proofs_s: proofsS, root: tree.root }) + '\n');
}
