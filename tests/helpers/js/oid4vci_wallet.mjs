// A wallet for the OpenID4VCI interop tests: the OpenWallet Foundation's @openid4vc/openid4vci client runs the
// pre-authorized code flow against a credreg node over loopback; @sd-jwt/sd-jwt-vc verifies each SD-JWT VC it
// receives and makes a presentation disclosing only chosen claims, with a key-binding JWT.
//
//   node tests/helpers/js/oid4vci_wallet.mjs request.json   ->  one JSON line on stdout
//
// request: {
//   offers:       [{offer: "openid-credential-offer://?credential_offer=...", txCode?, configurations: [id]}]
//                 (mode "issue"): each offer redeemed, then one credential request per configuration id, each
//                 with a fresh c_nonce and a JWT proof of the wallet's one ES256 key
//   issuerJwk:    the issuer's public JWK          (what @sd-jwt/sd-jwt-vc verifies the issuer signature with)
//   disclose:     [claim name]                    claims of the SD-JWT VC presentation
//   audience, nonce                               of its key-binding JWT
//   mode:         "issue" | "deferred"
//   deferred:     {issuer, accessToken, transactionId, holderPrivateJwk, configuration}   (mode "deferred")
// }
// answer: {holderJwk, holderPrivateJwk, offers: [{accessToken, results: {configuration: {credential | transactionId,
//          sdjwt?: {verifiedClaims, header, presentation, presentationClaims, presentationKb}}}}], error?}
import {readFileSync} from 'node:fs';
import crypto from 'node:crypto';
import {Openid4vciClient, setGlobalConfig} from '@openid4vc/openid4vci';
import {clientAuthenticationNone} from '@openid4vc/oauth2';
import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest, generateSalt} from '@sd-jwt/crypto-nodejs';
import * as jose from 'jose';

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
setGlobalConfig({allowInsecureUrls: true}); // loopback http:// in tests only

const b64u = (buf) => Buffer.from(buf).toString('base64url');

function verifyWith(jwk, data, sig) {
  const key = crypto.createPublicKey({key: jwk, format: 'jwk'});
  const signature = Buffer.from(sig, 'base64url');
  if (jwk.kty === 'OKP') return crypto.verify(null, Buffer.from(data), key, signature);
  return crypto.verify('sha256', Buffer.from(data), {key, dsaEncoding: 'ieee-p1363'}, signature);
}

async function holderKey(privateJwk) {
  if (privateJwk) {
    const {d, ...publicJwk} = privateJwk;
    return {privateJwk, publicJwk, key: await jose.importJWK(privateJwk, 'ES256')};
  }
  const {publicKey, privateKey} = await jose.generateKeyPair('ES256', {extractable: true});
  return {privateJwk: await jose.exportJWK(privateKey), publicJwk: await jose.exportJWK(publicKey), key: privateKey};
}

function client(holder) {
  return new Openid4vciClient({
    callbacks: {
      fetch,
      clientAuthentication: clientAuthenticationNone({clientId: 'credreg-interop-wallet'}),
      generateRandom: (n) => crypto.randomBytes(n),
      hash: (data, alg) => crypto.createHash(alg.replace('-', '').toLowerCase()).update(data).digest(),
      signJwt: async (signer, {header, payload}) => {
        const jwt = await new jose.SignJWT(payload).setProtectedHeader(header).sign(holder.key);
        return {jwt, signerJwk: holder.publicJwk};
      },
    },
  });
}

async function checkSdJwt(credential, holder) {
  const sdjwt = new SDJwtVcInstance({
    hasher: digest,
    saltGenerator: generateSalt,
    verifier: (data, sig) => verifyWith(request.issuerJwk, data, sig),
    kbSignAlg: 'ES256',
    kbSigner: async (data) => {
      const sig = crypto.sign('sha256', Buffer.from(data), {
        key: crypto.createPrivateKey({key: holder.privateJwk, format: 'jwk'}),
        dsaEncoding: 'ieee-p1363',
      });
      return b64u(sig);
    },
    kbVerifier: (data, sig, payload) => verifyWith(payload.cnf.jwk, data, sig),
  });
  const verified = await sdjwt.verify(credential);
  const frame = Object.fromEntries((request.disclose || []).map((k) => [k, true]));
  const presentation = await sdjwt.present(credential, frame, {
    kb: {payload: {iat: Math.floor(Date.now() / 1000), aud: request.audience, nonce: request.nonce}},
  });
  const again = await sdjwt.verify(presentation, {keyBindingNonce: request.nonce, requiredClaimKeys: request.disclose});
  return {
    verifiedClaims: await sdjwt.getClaims(credential),
    header: verified.header,
    presentation,
    presentationClaims: again.payload,
    presentationKb: again.kb?.payload,
  };
}

async function issue() {
  // one wallet key; each offer redeemed once, then one credential request per configuration
  const holder = await holderKey();
  const wallet = client(holder);
  const out = {holderJwk: holder.publicJwk, holderPrivateJwk: holder.privateJwk, offers: []};
  for (const one of request.offers) {
    const offer = await wallet.resolveCredentialOffer(one.offer);
    const metadata = await wallet.resolveIssuerMetadata(offer.credential_issuer);
    const {accessTokenResponse} = await wallet.retrievePreAuthorizedCodeAccessTokenFromOffer({
      credentialOffer: offer,
      issuerMetadata: metadata,
      txCode: one.txCode,
    });
    const done = {accessToken: accessTokenResponse.access_token, results: {}};
    for (const configuration of one.configurations) {
      done.results[configuration] = await requestOne(
        wallet, metadata, holder, accessTokenResponse.access_token, configuration);
    }
    out.offers.push(done);
  }
  return out;
}

async function errorBody(e) {
  try { return await e.response.clone().json(); } catch { return undefined; }
}

async function requestOne(wallet, metadata, holder, accessToken, configuration) {
  const {c_nonce} = await wallet.requestNonce({issuerMetadata: metadata});
  const {jwt} = await wallet.createCredentialRequestJwtProof({
    issuerMetadata: metadata,
    credentialConfigurationId: configuration,
    signer: {method: 'jwk', publicJwk: holder.publicJwk, alg: 'ES256'},
    nonce: c_nonce,
  });
  const response = await wallet.retrieveCredentials({
    issuerMetadata: metadata,
    accessToken,
    credentialConfigurationId: configuration,
    proofs: {jwt: [jwt]},
  });
  const body = response.credentialResponse;
  if (body.transaction_id) return {transactionId: body.transaction_id, interval: body.interval};
  const credential = body.credentials[0].credential;
  const result = {credential};
  if (metadata.credentialIssuer.credential_configurations_supported[configuration].format === 'dc+sd-jwt') {
    result.sdjwt = await checkSdJwt(credential, holder);
  }
  return result;
}

async function deferred() {
  const d = request.deferred;
  const holder = await holderKey(d.holderPrivateJwk);
  const wallet = client(holder);
  const metadata = await wallet.resolveIssuerMetadata(d.issuer);
  const response = await wallet.retrieveDeferredCredentials({
    issuerMetadata: metadata,
    accessToken: d.accessToken,
    transactionId: d.transactionId,
  });
  const body = response.deferredCredentialResponse;
  if (body.transaction_id) return {results: {[d.configuration]: {transactionId: body.transaction_id}}};
  const credential = body.credentials[0].credential;
  const result = {credential};
  if (metadata.credentialIssuer.credential_configurations_supported[d.configuration].format === 'dc+sd-jwt') {
    result.sdjwt = await checkSdJwt(credential, holder);
  }
  return {results: {[d.configuration]: result}};
}

try {
  const out = request.mode === 'deferred' ? await deferred() : await issue();
  console.log(JSON.stringify(out));
} catch (e) {
  console.log(JSON.stringify({error: String(e.message || e), body: e.response ? await errorBody(e) : undefined}));
}
