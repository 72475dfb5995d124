// Third-party verifier and issuer for the interop tests: @digitalbazaar/vc with the eddsa-rdfc-2022 and
// eddsa-jcs-2022 cryptosuites (Data Integrity), and `jose` for VC-JWT (application/vc+jwt), run fully offline.
//
//   node tests/helpers/js/vc_interop.mjs request.json   ->  JSON on stdout
//
// request: {
//   contexts:      {url: document}   extra JSON-LD contexts (credreg's bundled Open Badges / status list ones);
//                                    the VC 2.0, Data Integrity, Multikey and DID contexts come from their npm packages
//   didDocuments:  [document]        did:web DID documents, served by the loader (did:key is resolved by its driver)
//   statusLists:   {url: document}   BitstringStatusListCredentials (fetched from the node by the caller): a
//                                    credential with credentialStatus is checked against them (list signature by
//                                    @digitalbazaar/vc, bit read here: no status-list npm package is installed)
//   verify:        [{name, credential} | {name, jwt}]
//   issue:         [{name, suite: "eddsa-rdfc-2022" | "eddsa-jcs-2022" | "jwt-eddsa" | "jwt-es256", credential}]
//                  each signed with a fresh key whose did:key becomes the credential's issuer
// }
// answer:  {verified: {name: {verified, error}}, issued: {name: {did, publicKeyMultibase, credential | jwt}}}
// The loader never fetches: an unknown URL is an error ("Document not found in document loader").
import {readFileSync} from 'node:fs';
import {gunzipSync} from 'node:zlib';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {
  createSignCryptosuite as jcsSign,
  createVerifyCryptosuite as jcsVerify
} from '@digitalbazaar/eddsa-jcs-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {JsonLdDocumentLoader} from 'jsonld-document-loader';
import {contexts as credContexts} from '@digitalbazaar/credentials-context';
import diCtx from '@digitalbazaar/data-integrity-context';
import mkCtx from '@digitalbazaar/multikey-context';
import {contexts as didContexts} from 'did-context';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {CachedResolver} from '@digitalbazaar/did-io';
import * as jose from 'jose';

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));

// ------------------------------------------------------------------ offline document loader
const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
didKey.use({multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from});
const resolver = new CachedResolver();
resolver.use(didKey);
const jldl = new JsonLdDocumentLoader();
jldl.addDocuments({documents: [...credContexts, ...diCtx.contexts, ...mkCtx.contexts, ...didContexts]});
for(const [url, doc] of Object.entries(request.contexts || {})) {
  jldl.addStatic(url, doc);
}
jldl.setDidResolver(resolver);
const baseLoader = jldl.build();
const didWeb = new Map((request.didDocuments || []).map(d => [d.id, d]));

async function documentLoader(url) {
  const did = url.split('#')[0];
  if(didWeb.has(did)) {
    const doc = didWeb.get(did);
    if(!url.includes('#')) {
      return {contextUrl: null, documentUrl: url, document: doc};
    }
    const vm = (doc.verificationMethod || []).find(m => m.id === url || did + m.id === url);
    if(!vm) {
      throw new Error(`${url} not in ${did}'s DID document`);
    }
    return {contextUrl: null, documentUrl: url, document: {'@context': doc['@context'], ...vm}};
  }
  return baseLoader(url);
}

// ------------------------------------------------------------------ verification
const verifySuites = [
  new DataIntegrityProof({cryptosuite: eddsaRdfc2022}),
  new DataIntegrityProof({cryptosuite: jcsVerify()})
];

async function jwkOf(vm) {
  const mb = vm.publicKeyMultibase;
  if(mb?.startsWith('z6Mk')) {
    return Ed25519Multikey.toJwk({keyPair: await Ed25519Multikey.from(vm)});
  }
  if(mb?.startsWith('zDn')) {
    return EcdsaMultikey.toJwk({keyPair: await EcdsaMultikey.from(vm)});
  }
  if(vm.publicKeyJwk) {
    return vm.publicKeyJwk;
  }
  throw new Error(`unsupported verification method ${vm.id}`);
}

async function verifyJwt(token) {
  const header = jose.decodeProtectedHeader(token);
  if(header.typ !== 'vc+jwt') {
    throw new Error(`typ ${header.typ}`);
  }
  const {document: vm} = await documentLoader(header.kid);
  const key = await jose.importJWK(await jwkOf(vm), header.alg);
  const {payload} = await jose.compactVerify(token, key, {algorithms: ['EdDSA', 'Ed25519', 'ES256']});
  const credential = JSON.parse(new TextDecoder().decode(payload));
  if(!credential.type?.includes('VerifiableCredential') || 'vc' in credential) {
    throw new Error('not a VC-JOSE-COSE credential');
  }
  const issuer = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer?.id;
  if(vm.controller !== issuer) {
    throw new Error(`key controller ${vm.controller} is not the issuer ${issuer}`);
  }
  return {verified: true};
}

async function verifyOne(item) {
  try {
    if(item.jwt) {
      return await verifyJwt(item.jwt);
    }
    const result = await vc.verifyCredential({
      credential: item.credential, suite: verifySuites, documentLoader, checkStatus
    });
    return {verified: result.verified, error: result.verified ? undefined : describe(result)};
  } catch(e) {
    return {verified: false, error: String(e?.message || e)};
  }
}

// W3C Bitstring Status List 1.0: the list credential must verify and be issued by the credential's issuer; the
// entry's bit (index 0 = the most significant bit of the first byte of the GZIP'd base64url encodedList) clear.
const statusLists = new Map(Object.entries(request.statusLists || {}));

async function checkStatus({credential}) {
  const entries = [credential.credentialStatus].flat().filter(Boolean);
  const issuer = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer?.id;
  for(const entry of entries) {
    const list = statusLists.get(entry.statusListCredential);
    if(!list) {
      return {verified: false, error: new Error(`status list ${entry.statusListCredential} not given`)};
    }
    const listResult = await vc.verifyCredential({credential: list, suite: verifySuites, documentLoader});
    const listIssuer = typeof list.issuer === 'string' ? list.issuer : list.issuer?.id;
    if(!listResult.verified || listIssuer !== issuer) {
      return {verified: false, error: new Error(`status list ${list.id} does not verify for ${issuer}`)};
    }
    const subject = list.credentialSubject;
    if(subject.statusPurpose !== entry.statusPurpose) {
      return {verified: false, error: new Error('status purpose differs from the list')};
    }
    const encoded = subject.encodedList.startsWith('u') ? subject.encodedList.slice(1) : subject.encodedList;
    const bits = gunzipSync(Buffer.from(encoded, 'base64url'));
    const index = Number(entry.statusListIndex);
    if(bits[index >> 3] & (0x80 >> (index & 7))) {
      return {verified: false, error: new Error(`${entry.statusPurpose} bit ${index} is set`)};
    }
  }
  return {verified: true};
}

function describe(result) {
  const errors = [];
  if(result.error) {
    errors.push(...(result.error.errors || [result.error]).map(e => e.message || String(e)));
  }
  for(const r of result.results || []) {
    if(!r.verified && r.error) {
      errors.push(r.error.message || String(r.error));
    }
  }
  return errors.join('; ') || 'not verified';
}

// ------------------------------------------------------------------ issuance
async function issueOne(item) {
  const credential = structuredClone(item.credential);
  if(item.suite.startsWith('jwt-')) {
    const alg = item.suite === 'jwt-eddsa' ? 'EdDSA' : 'ES256';
    const {publicKey, privateKey} = await jose.generateKeyPair(alg, {crv: alg === 'EdDSA' ? 'Ed25519' : 'P-256'});
    const jwk = await jose.exportJWK(publicKey);
    const keyPair = alg === 'EdDSA' ? await Ed25519Multikey.fromJwk({jwk}) : await EcdsaMultikey.fromJwk({jwk});
    const did = `did:key:${keyPair.publicKeyMultibase}`;
    credential.issuer = {...(typeof credential.issuer === 'object' ? credential.issuer : {}), id: did};
    const jwt = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(credential)))
      .setProtectedHeader({alg, typ: 'vc+jwt', cty: 'vc', kid: `${did}#${keyPair.publicKeyMultibase}`})
      .sign(privateKey);
    return {did, publicKeyMultibase: keyPair.publicKeyMultibase, jwt};
  }
  const keyPair = await Ed25519Multikey.generate();
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  credential.issuer = {...(typeof credential.issuer === 'object' ? credential.issuer : {}), id: did};
  const cryptosuite = item.suite === 'eddsa-rdfc-2022' ? eddsaRdfc2022 : jcsSign();
  const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite});
  const signed = await vc.issue({credential, suite, documentLoader});
  return {did, publicKeyMultibase: keyPair.publicKeyMultibase, credential: signed};
}

const verified = {};
for(const item of request.verify || []) {
  verified[item.name] = await verifyOne(item);
}
const issued = {};
for(const item of request.issue || []) {
  issued[item.name] = await issueOne(item);
}
process.stdout.write(JSON.stringify({verified, issued}) + '\n');
