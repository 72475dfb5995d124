// Reference oracle for tests/test_merkle.py: the real @openzeppelin/merkle-tree.
// stdin: JSON {"cases": [{"digests": ["0x..", ...], "multi": [[valueIndex, ...], ...],
//                         "byValue": bool (default true), "render": bool, "dump": bool,
//                         "load": <standard-v1 dump from Python> | null}]}
// stdout: JSON {"results": [{"root", "proofs" (by index), "proofsByValue", "multi": [{leaves, proof, proofFlags}],
//                            "render", "dump", "loadedRoot"}]}
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

const results = input.cases.map(c => {
  const values = c.digests.map(d => [d]);
  const tree = StandardMerkleTree.of(values, ['bytes32']);
  const out = { root: tree.root };
  out.proofs = values.map((_, i) => tree.getProof(i));
  if (c.byValue !== false) out.proofsByValue = values.map(v => tree.getProof(v));
  out.multi = (c.multi ?? []).map(idx => {
    const m = tree.getMultiProof(idx);
    return { leaves: m.leaves.map(v => v[0]), proof: m.proof, proofFlags: m.proofFlags };
  });
  if (c.render) out.render = tree.render();
  if (c.dump) out.dump = tree.dump();
  if (c.load) {
    const loaded = StandardMerkleTree.load(c.load); // validates the whole tree
    out.loadedRoot = loaded.root;
    out.loadedProofs = values.map(v => loaded.getProof(v));
  }
  return out;
});
process.stdout.write(JSON.stringify({ results }));
