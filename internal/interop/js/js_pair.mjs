// Two Autobahn|JS sessions, in one process, through the router: A registers
// and subscribes, B calls and publishes. Values of every WAMP type cross,
// binary ones included; errors carry their URI, args and kwargs; unregister
// and unsubscribe take effect.

import assert from 'node:assert/strict';
import { autobahn, bytes, connect, expectError, Inbox, isBinary, main, rejects, same, show } from './lib.mjs';

main('js_pair', async () => {
  const a = await connect('callee');
  const b = await connect('caller');

  assert.ok(Number.isInteger(a.session.id) && a.session.id > 0, `session ID ${a.session.id}`);
  assert.notEqual(a.session.id, b.session.id, 'the two sessions have distinct IDs');

  const invocations = new Inbox('invocations of com.example.pair.echo');
  const echo = await a.session.register('com.example.pair.echo', (args, kwargs, details) => {
    invocations.push(details);
    return new autobahn.Result(args, kwargs);
  });
  await a.session.register('com.example.pair.add2', (args) => args[0] + args[1]);
  await a.session.register('com.example.pair.fail', () => {
    throw new autobahn.Error('com.example.error.pair', [1, 'two', bytes(0xf0, 0x0f)], { k: bytes(0x42), nested: { list: [true, null] } });
  });

  // A single positional result comes back unwrapped.
  assert.equal(await b.session.call('com.example.pair.add2', [20, 22]), 42, 'add2(20, 22)');

  const args = [1, 'two', 2.5, true, null, -7, [bytes(0), 'x'], { o: 1, b: bytes(1, 2) }, bytes(0xff, 0, 0x80)];
  const kwargs = { b: bytes(0xde, 0xad, 0xbe, 0xef), n: { deep: bytes(7) }, s: 'ünïcødé ✓', empty: bytes() };
  const res = await b.session.call('com.example.pair.echo', args, kwargs);
  assert.ok(res instanceof autobahn.Result, `echo: got ${show(res)}, want a Result`);
  same(res.args, args, 'echo args');
  same(res.kwargs, kwargs, 'echo kwargs');
  isBinary(res.args[8], [0xff, 0, 0x80], 'echo args[8]');
  isBinary(res.kwargs.empty, [], 'echo kwargs.empty');
  const inv = await invocations.next();
  assert.equal(inv.procedure, 'com.example.pair.echo', 'invocation procedure');

  const err = await rejects(b.session.call('com.example.pair.fail', []), 'com.example.pair.fail');
  expectError(err, 'com.example.error.pair', [1, 'two', bytes(0xf0, 0x0f)], { k: bytes(0x42), nested: { list: [true, null] } }, 'com.example.pair.fail');

  // Pub/sub: the event carries the publication ID that PUBLISHED announced.
  const events = new Inbox('events on com.example.pair.topic');
  const sub = await a.session.subscribe('com.example.pair.topic', (args, kwargs, details) => events.push({ args, kwargs, details }));
  const pub = await b.session.publish('com.example.pair.topic', [bytes(1, 2, 3), 'hello'], { blob: bytes(4), when: 1.25 }, { acknowledge: true });
  assert.ok(pub instanceof autobahn.Publication, `publish with acknowledge: got ${show(pub)}`);
  const ev = await events.next();
  same(ev.args, [bytes(1, 2, 3), 'hello'], 'event args');
  same(ev.kwargs, { blob: bytes(4), when: 1.25 }, 'event kwargs');
  assert.equal(ev.details.publication, pub.id, 'event publication ID = PUBLISHED publication ID');
  assert.equal(ev.details.topic, 'com.example.pair.topic', 'event topic');

  // A publication without acknowledge returns nothing and still arrives.
  assert.equal(b.session.publish('com.example.pair.topic', [], { seq: 2 }), undefined, 'publish without acknowledge');
  const ev2 = await events.next();
  same(ev2.kwargs, { seq: 2 }, 'second event kwargs');
  same(ev2.args, [], 'second event args');

  // Unsubscribe and unregister (the IDs go back to the router as Autobahn
  // encodes them: MessagePack and CBOR send large ones as floats).
  await sub.unsubscribe();
  await b.session.publish('com.example.pair.topic', ['after unsubscribe'], {}, { acknowledge: true });
  await echo.unregister();
  const gone = await rejects(b.session.call('com.example.pair.echo', [1]), 'echo after unregister');
  assert.equal(gone.error, 'wamp.error.no_such_procedure', 'echo after unregister: error URI');
  assert.equal(events.items.length, 0, `no event after unsubscribe, got ${show(events.items)}`);

  await b.close();
  await a.close();
});
