// Leaving: connection.close() sends GOODBYE wamp.close.normal, the router
// answers GOODBYE wamp.close.goodbye_and_out, and the WebSocket closes
// cleanly. Autobahn|JS logs nothing but its routine close notices.
//
// The session registers com.example.leave.proc before leaving; the Go test
// then registers the same procedure, which works only if the router dropped
// the registration with the session.

import assert from 'node:assert/strict';
import { autobahn, closeEvents, connect, main, show } from './lib.mjs';

// Autobahn|JS writes these warnings (autobahn.log.warn, bound to
// console.warn) on every close, whatever the cause (lib/connection.js);
// anything else it logs is a failure.
const routine = new Set(['connection closed', 'auto-reconnect disabled!']);
const logged = [];
for (const [target, name, level] of [
  [autobahn.log, 'warn', 'warn'],
  [console, 'warn', 'warn'],
  [console, 'error', 'error'],
]) {
  const original = target[name];
  target[name] = (...args) => {
    logged.push({ level, args });
    original(...args);
  };
}

main('leave', async () => {
  const peer = await connect('leaver');
  assert.ok(peer.session.isOpen, 'session is open after join');
  const roles = peer.details.roles || {};
  assert.ok(roles.broker && roles.dealer, `WELCOME announces broker and dealer: ${show(peer.details)}`);
  await peer.session.register('com.example.leave.proc', () => null);

  const { reason, details } = await peer.close();
  assert.equal(reason, 'closed', `onclose reason (lost would mean an unclean WebSocket close): ${reason} ${show(details)}`);
  assert.equal(details.reason, 'wamp.close.goodbye_and_out', `the router's GOODBYE reason: ${show(details)}`);
  assert.equal(details.will_retry, false, 'no reconnect');
  assert.equal(peer.session.isOpen, false, 'session is closed');

  assert.equal(closeEvents.length, 1, `one WebSocket closed: ${show(closeEvents)}`);
  assert.equal(closeEvents[0].wasClean, true, `WebSocket closing handshake completed: ${show(closeEvents[0])}`);
  assert.ok([1000, 1005].includes(closeEvents[0].code), `WebSocket close code 1000 or 1005 (none given): ${show(closeEvents[0])}`);

  const unexpected = logged.filter((l) => l.level !== 'warn' || !routine.has(l.args[0]));
  assert.deepEqual(unexpected, [], `Autobahn|JS logged more than its close notices: ${show(unexpected)}`);
});
