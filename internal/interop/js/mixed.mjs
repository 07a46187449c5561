// Mixed serializers: a callee and subscriber joined with WAMP_SERIALIZER
// serve a caller and publisher joined with each other serializer, binary
// arguments both ways. The router translates between the encodings.

import assert from 'node:assert/strict';
import { autobahn, bytes, connect, Inbox, main, same, serializer, serializers, show } from './lib.mjs';

main('mixed', async () => {
  const callee = await connect(`callee/${serializer}`, serializer);
  const seen = new Inbox('invocations');
  await callee.session.register('com.example.mixed.swap', (args, kwargs) => {
    seen.push({ args, kwargs });
    return new autobahn.Result([kwargs.blob, 'swapped'], { blob: args[0], from: serializer });
  });
  const events = new Inbox('events');
  await callee.session.subscribe('com.example.mixed.topic', (args, kwargs) => events.push({ args, kwargs }));

  for (const other of serializers.filter((s) => s !== serializer)) {
    const caller = await connect(`caller/${other}`, other);
    const a = bytes(0, 1, 0xfe, 0xff, other.length);
    const k = bytes(0x80, 0x7f);

    const res = await caller.session.call('com.example.mixed.swap', [a, 'x'], { blob: k, via: other });
    assert.ok(res instanceof autobahn.Result, `${other} -> ${serializer}: got ${show(res)}, want a Result`);
    same(res.args, [k, 'swapped'], `${other} caller -> ${serializer} callee: result args`);
    same(res.kwargs, { blob: a, from: serializer }, `${other} caller -> ${serializer} callee: result kwargs`);
    const inv = await seen.next();
    same(inv.args, [a, 'x'], `${serializer} callee invoked by ${other} caller: args`);
    same(inv.kwargs, { blob: k, via: other }, `${serializer} callee invoked by ${other} caller: kwargs`);

    await caller.session.publish('com.example.mixed.topic', [a], { blob: k, via: other }, { acknowledge: true });
    const ev = await events.next();
    same(ev.args, [a], `${other} publisher -> ${serializer} subscriber: args`);
    same(ev.kwargs, { blob: k, via: other }, `${other} publisher -> ${serializer} subscriber: kwargs`);

    await caller.close();
  }
  await callee.close();
});
