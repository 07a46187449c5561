// The router's errors as Autobahn|JS receives them: each request it refuses
// rejects with the spec's error URI, and the session stays usable.

import assert from 'node:assert/strict';
import { connect, main, rejects, show } from './lib.mjs';

main('router_errors', async () => {
  const a = await connect('first');
  const b = await connect('second');

  const noProc = await rejects(a.session.call('com.example.nobody.home', [1], { k: 2 }), 'call of an unregistered procedure');
  assert.equal(noProc.error, 'wamp.error.no_such_procedure', `call of an unregistered procedure: ${show(noProc)}`);
  assert.ok(Array.isArray(noProc.args), 'no_such_procedure args is a list');

  await a.session.register('com.example.twice', () => 'first');
  const same = await rejects(a.session.register('com.example.twice', () => 'again'), 'second registration by the same session');
  assert.equal(same.error, 'wamp.error.procedure_already_exists', `same session registers twice: ${show(same)}`);
  const other = await rejects(b.session.register('com.example.twice', () => 'other'), 'registration by another session');
  assert.equal(other.error, 'wamp.error.procedure_already_exists', `other session registers the same procedure: ${show(other)}`);
  // The first registration still answers.
  assert.equal(await b.session.call('com.example.twice'), 'first', 'call after the refused registrations');

  const badCall = await rejects(a.session.call('com.example..empty'), 'call of an invalid URI');
  assert.equal(badCall.error, 'wamp.error.invalid_uri', `call of an invalid URI: ${show(badCall)}`);
  const badReg = await rejects(a.session.register('com.example.with space', () => 0), 'registration of an invalid URI');
  assert.equal(badReg.error, 'wamp.error.invalid_uri', `registration of an invalid URI: ${show(badReg)}`);
  const badSub = await rejects(a.session.subscribe('com..example', () => 0), 'subscription to an invalid URI');
  assert.equal(badSub.error, 'wamp.error.invalid_uri', `subscription to an invalid URI: ${show(badSub)}`);
  const badPub = await rejects(a.session.publish('com.example.#', [], {}, { acknowledge: true }), 'acknowledged publication to an invalid URI');
  assert.equal(badPub.error, 'wamp.error.invalid_uri', `acknowledged publication to an invalid URI: ${show(badPub)}`);

  await b.close();
  await a.close();
});
