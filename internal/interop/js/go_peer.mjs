// Autobahn|JS and the wampkit Go client through the router.
//
// Before this script starts, the Go test has joined and registered
// com.example.add2, com.example.go.fail and com.example.go.bytes, and
// subscribed to com.example.from_js. The script calls those, registers its
// own procedures, publishes to com.example.from_js (exclude_me default, then
// false) and prints READY. The Go test then calls the script's procedures and
// publishes to com.example.to_js, which the script waits for before leaving.

import assert from 'node:assert/strict';
import { autobahn, bytes, connect, expectError, Inbox, isBinary, main, rejects, same, show, signal } from './lib.mjs';

main('go_peer', async () => {
  const peer = await connect('go_peer');
  const s = peer.session;

  // Go procedures, called from JS.
  assert.equal(await s.call('com.example.add2', [2, 3]), 5, 'add2(2, 3)');

  const goErr = await rejects(s.call('com.example.go.fail', ['please']), 'com.example.go.fail');
  expectError(goErr, 'com.example.error.go_failed', ['go says no', 42], { code: 7, blob: bytes(0xde, 0xad) }, 'com.example.go.fail');

  const res = await s.call('com.example.go.bytes', [bytes(0, 1, 2, 0xff)], { blob: bytes(0xca, 0xfe) });
  assert.ok(res instanceof autobahn.Result, `com.example.go.bytes: got ${show(res)}, want a Result (two args and kwargs)`);
  isBinary(res.args[0], [0xff, 0xfe, 0], 'com.example.go.bytes: args[0]');
  same(res.args.slice(1), ['ok'], 'com.example.go.bytes: args[1:]');
  isBinary(res.kwargs.blob, [0xbe, 0xef], 'com.example.go.bytes: kwargs.blob');
  same(res.kwargs, { blob: bytes(0xbe, 0xef), len: 4 }, 'com.example.go.bytes: kwargs');

  // JS procedures, called from Go after READY.
  await s.register('com.example.js.echo', (args, kwargs) => new autobahn.Result(args, kwargs));
  await s.register('com.example.js.fail', () => {
    throw new autobahn.Error('com.example.error.x', ['js says no', 7, bytes(1, 2)], { reason: 'test', blob: bytes(3, 4) });
  });
  await s.register('com.example.js.bytes', (args, kwargs) => {
    // A failed check throws a plain Error: Go then sees
    // wamp.error.runtime_error with this message, and the script fails.
    isBinary(args[0], [9, 8, 7], 'com.example.js.bytes invoked with args[0]');
    isBinary(kwargs.blob, [6, 5], 'com.example.js.bytes invoked with kwargs.blob');
    return new autobahn.Result([bytes(0xaa, 0xbb)], { blob: bytes(0xcc) });
  });

  const toJs = new Inbox('events on com.example.to_js');
  await s.subscribe('com.example.to_js', (args, kwargs, details) => toJs.push({ args, kwargs, details }));

  // The script subscribes to its own topic: with exclude_me left out the
  // router must not send it its own publication, with exclude_me: false it
  // must. Events from one publisher arrive in order, so when the second one
  // is the first to arrive the first was excluded.
  const own = new Inbox('own events on com.example.from_js');
  await s.subscribe('com.example.from_js', (args, kwargs, details) => own.push({ args, kwargs, details }));
  const pub1 = await s.publish('com.example.from_js', [bytes(0x10, 0x20), 'first', 1], { blob: bytes(0x30), exclude_me: 'default' }, { acknowledge: true });
  const pub2 = await s.publish('com.example.from_js', [bytes(0x11), 'second', 2], { blob: bytes(0x31), exclude_me: false }, { acknowledge: true, exclude_me: false });
  for (const [i, pub] of [pub1, pub2].entries()) {
    assert.ok(pub instanceof autobahn.Publication, `publish #${i + 1} with acknowledge: got ${show(pub)}, want a Publication`);
    assert.ok(Number.isInteger(pub.id) && pub.id > 0, `publish #${i + 1}: publication ID ${pub.id}`);
  }
  assert.notEqual(pub1.id, pub2.id, 'the two publications have distinct IDs');
  const ev = await own.next();
  same(ev.args, [bytes(0x11), 'second', 2], 'own event args (the exclude_me default one must not arrive)');
  same(ev.kwargs, { blob: bytes(0x31), exclude_me: false }, 'own event kwargs');
  assert.equal(ev.details.publication, pub2.id, 'own event publication ID');

  signal('READY');

  const goEv = await toJs.next(10000);
  same(goEv.args, [bytes(1, 2), 'from go', 3], 'event from Go: args');
  isBinary(goEv.args[0], [1, 2], 'event from Go: args[0]');
  same(goEv.kwargs, { blob: bytes(3), n: 1.5 }, 'event from Go: kwargs');
  assert.ok(Number.isInteger(goEv.details.publication) && goEv.details.publication > 0, `event from Go: publication ID ${goEv.details.publication}`);
  assert.equal(own.items.length, 0, `no further own events, got ${show(own.items)}`);

  await peer.close();
});
