// Interop peer for the pqc plugin's interop_test.go: an independent
// implementation (@noble/post-quantum) on the other side of every exchange.
//
// Reads one JSON request on stdin, writes one JSON answer on stdout. Binary
// fields are base64url without padding, as in the plugin's API.
//
//   {"phase": "produce", "kem": [{"alg", "publicKey", "seed"}], "sig": [{"alg", "seed", "message", "context"}]}
//     kem: encapsulate to the plugin's public key, and make our own key pair
//          from seed for the plugin to encapsulate to;
//     sig: make a key pair from seed and sign message with context.
//   {"phase": "check", "kem": [{"alg", "secretKey", "cipherText"}], "sig": [{"alg", "publicKey", "message", "context", "signature"}]}
//     kem: decapsulate the plugin's ciphertext;
//     sig: verify the plugin's signature.
import { ml_kem512, ml_kem768, ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import * as slh from '@noble/post-quantum/slh-dsa.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

const kems = {
  'ML-KEM-512': ml_kem512,
  'ML-KEM-768': ml_kem768,
  'ML-KEM-1024': ml_kem1024,
  'X-Wing': ml_kem768_x25519,
};
const sigs = { 'ML-DSA-44': ml_dsa44, 'ML-DSA-65': ml_dsa65, 'ML-DSA-87': ml_dsa87 };
for (const [name, impl] of Object.entries(slh)) {
  const m = /^slh_dsa_(sha2|shake)_(\d+)([sf])$/.exec(name);
  if (m) sigs[`SLH-DSA-${m[1].toUpperCase()}-${m[2]}${m[3]}`] = impl;
}

const dec = (s) => new Uint8Array(Buffer.from(s ?? '', 'base64url'));
const enc = (b) => Buffer.from(b).toString('base64url');
const pick = (table, alg) => {
  const impl = table[alg];
  if (!impl) throw new Error(`unknown algorithm ${alg}`);
  return impl;
};

function produce(req) {
  const kem = (req.kem ?? []).map((k) => {
    const impl = pick(kems, k.alg);
    const { cipherText, sharedSecret } = impl.encapsulate(dec(k.publicKey));
    const own = impl.keygen(dec(k.seed));
    return {
      alg: k.alg,
      cipherText: enc(cipherText),
      sharedSecret: enc(sharedSecret),
      publicKey: enc(own.publicKey),
      secretKey: enc(own.secretKey),
    };
  });
  const sig = (req.sig ?? []).map((s) => {
    const impl = pick(sigs, s.alg);
    const { publicKey, secretKey } = impl.keygen(dec(s.seed));
    const signature = impl.sign(dec(s.message), secretKey, { context: dec(s.context) });
    return { alg: s.alg, publicKey: enc(publicKey), signature: enc(signature) };
  });
  return { kem, sig };
}

function check(req) {
  const kem = (req.kem ?? []).map((k) => ({
    alg: k.alg,
    sharedSecret: enc(pick(kems, k.alg).decapsulate(dec(k.cipherText), dec(k.secretKey))),
  }));
  const sig = (req.sig ?? []).map((s) => ({
    alg: s.alg,
    valid: pick(sigs, s.alg).verify(dec(s.signature), dec(s.message), dec(s.publicKey), { context: dec(s.context) }),
  }));
  return { kem, sig };
}

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const out = req.phase === 'produce' ? produce(req) : check(req);
process.stdout.write(JSON.stringify(out));
