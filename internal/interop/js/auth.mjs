// Authentication: Autobahn|JS joins with ticket, wampcra (salted) and
// cryptosign, and wampy with ticket and wampcra (unsalted and salted), each
// with its own library's signing code; a wrong secret is refused with
// wamp.error.authentication_failed. The Go test (auth_test.go) configures the
// realm's principals.

import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import nacl from 'tweetnacl';
import { Wampy } from 'wampy';
import { sign as wampyCRA } from 'wampy/wampcra.js';
import { autobahn, main, realm, show, url } from './lib.mjs';

// The Ed25519 seed of principal "device" (the spec's first test vector key).
const seed = Buffer.from('4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510', 'hex');

// autobahnJoin joins with Autobahn|JS and resolves with WELCOME.Details, or
// rejects with the ABORT's reason and details.
function autobahnJoin(options) {
  return new Promise((resolve, reject) => {
    let joined = false;
    const connection = new autobahn.Connection({ url, realm, max_retries: 0, retry_if_unreachable: false, ...options });
    connection.onopen = (session, details) => {
      joined = true;
      resolve({ details, connection });
    };
    connection.onclose = (reason, details) => {
      if (!joined) reject(Object.assign(new Error(`join refused: ${reason} ${show(details)}`), { details }));
      return true;
    };
    connection.open();
  });
}

async function autobahnOK(what, options, authid, authrole, authmethod) {
  const { details, connection } = await autobahnJoin(options);
  assert.equal(details.authid, authid, `${what}: authid ${show(details)}`);
  assert.equal(details.authrole, authrole, `${what}: authrole`);
  assert.equal(details.authmethod, authmethod, `${what}: authmethod`);
  connection.close();
}

async function autobahnRefused(what, options) {
  try {
    const { connection } = await autobahnJoin(options);
    connection.close();
  } catch (err) {
    assert.equal(err.details?.reason, 'wamp.error.authentication_failed', `${what}: ${err.message}`);
    return;
  }
  assert.fail(`${what}: joined with a wrong secret`);
}

async function wampyJoin(options) {
  const w = new Wampy(url, { realm, ws: WebSocket, autoReconnect: false, ...options });
  const details = await w.connect();
  await w.disconnect();
  return details;
}

const craSign = (password) => (session, method, extra) => {
  assert.equal(method, 'wampcra');
  const key = extra.salt ? autobahn.auth_cra.derive_key(password, extra.salt, extra.iterations, extra.keylen) : password;
  return autobahn.auth_cra.sign(key, extra.challenge);
};

main('auth', async () => {
  // Autobahn|JS.
  await autobahnOK('ticket', { authmethods: ['ticket'], authid: 'alice', onchallenge: () => 'alice-ticket' }, 'alice', 'user', 'ticket');
  await autobahnRefused('wrong ticket', { authmethods: ['ticket'], authid: 'alice', onchallenge: () => 'nope' });
  await autobahnOK('wampcra salted', { authmethods: ['wampcra'], authid: 'peter', onchallenge: craSign('peter-password') }, 'peter', 'user', 'wampcra');
  await autobahnRefused('wrong wampcra password', { authmethods: ['wampcra'], authid: 'peter', onchallenge: craSign('nope') });
  const pkey = nacl.sign.keyPair.fromSeed(seed);
  const cryptosign = (key) => ({
    authmethods: ['cryptosign'],
    authextra: { pubkey: autobahn.auth_cryptosign.public_key(pkey) },
    onchallenge: (session, method, extra) => autobahn.auth_cryptosign.sign_challenge(key, extra),
  });
  await autobahnOK('cryptosign', cryptosign(pkey), 'device', 'user', 'cryptosign');
  await autobahnRefused('cryptosign with another key', cryptosign(nacl.sign.keyPair()));

  // wampy.
  let d = await wampyJoin({ authid: 'alice', authmethods: ['ticket'], onChallenge: () => 'alice-ticket' });
  assert.equal(d.authid, 'alice', `wampy ticket: ${show(d)}`);
  assert.equal(d.authmethod, 'ticket');
  d = await wampyJoin({ authid: 'carol', authmethods: ['wampcra'], onChallenge: wampyCRA('carol-secret') });
  assert.equal(d.authid, 'carol', `wampy wampcra: ${show(d)}`);
  d = await wampyJoin({ authid: 'peter', authmethods: ['wampcra'], onChallenge: wampyCRA('peter-password') });
  assert.equal(d.authid, 'peter', `wampy wampcra salted: ${show(d)}`);
  let refusal;
  try {
    await wampyJoin({ authid: 'alice', authmethods: ['ticket'], onChallenge: () => 'nope' });
  } catch (err) {
    refusal = err;
  }
  assert.ok(refusal, 'wampy: joined with a wrong ticket');
  assert.equal(refusal.errorUri, 'wamp.error.authentication_failed', `wampy wrong ticket: ${refusal.name} ${refusal.message} ${show(refusal.details)}`);
});
