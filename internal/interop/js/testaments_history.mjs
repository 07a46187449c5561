// Testaments (wamp.session.add_testament and flush_testaments) and event
// history (wamp.subscription.get_events) as Autobahn|JS and wampy use them.
// The Go test's router keeps the last 3 events of each topic under
// com.example.history.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, same, show } from './lib.mjs';

main('testaments_history', async () => {
  const w = await connect('watcher');
  const gone = new Inbox('testaments');
  await w.session.subscribe('com.example.testament.gone', (args, kwargs) => gone.push({ args, kwargs }));

  // --- testaments ---
  // Autobahn|JS adds one and leaves with GOODBYE: it is published then.
  const a = await connect('leaver');
  await a.session.call('wamp.session.add_testament', ['com.example.testament.gone', ['autobahn left'], { why: 'goodbye' }]);
  await a.close();
  same(await gone.next(), { args: ['autobahn left'], kwargs: { why: 'goodbye' } }, 'the testament of a session that left');

  // wampy adds one and loses its connection without GOODBYE.
  const x = await connectWampy('dropper');
  await x.wampy.call('wamp.session.add_testament', { argsList: ['com.example.testament.gone', ['wampy lost']] });
  x.expectingClose = true;
  x.wampy._ws.terminate(); // the ws package's WebSocket: the TCP connection ends, no close frame
  const lost = await gone.next();
  same(lost.args, ['wampy lost'], `the testament of a session whose connection was lost: ${show(lost)}`);

  // A flushed testament is not published: the next event is a marker.
  const f = await connect('flusher');
  await f.session.call('wamp.session.add_testament', ['com.example.testament.gone', ['flushed']]);
  await f.session.call('wamp.session.flush_testaments');
  await f.close();
  await w.session.publish('com.example.testament.gone', ['marker'], {}, { acknowledge: true, exclude_me: false });
  same((await gone.next()).args, ['marker'], 'after a flushed testament, the next event is the marker');

  // --- event history ---
  const p = await connect('publisher');
  const pubs = [];
  for (let i = 1; i <= 5; i++) {
    pubs.push((await p.session.publish('com.example.history.t', [i], { n: i }, { acknowledge: true })).id);
  }
  const sub = await w.session.subscribe('com.example.history.t', () => {});
  const kept = await w.session.call('wamp.subscription.get_events', [sub.id]);
  same(kept.map((e) => [e.args, e.kwargs, e.publication, e.subscription]),
    [3, 4, 5].map((i) => [[i], { n: i }, pubs[i - 1], sub.id]), `the last 3 events, oldest first: ${show(kept)}`);
  for (const e of kept) {
    assert.ok(!Number.isNaN(Date.parse(e.timestamp)), `event timestamp: ${show(e)}`);
  }
  same((await w.session.call('wamp.subscription.get_events', [sub.id, 2])).map((e) => e.args), [[4], [5]], 'the last 2');

  // wampy reads the same history, newest first.
  const y = await connectWampy('reader');
  const ys = await y.subscribe('com.example.history.t', () => {});
  const res = await y.wampy.call('wamp.subscription.get_events', { argsList: [Number(ys.subscriptionId)], argsDict: { reverse: true } });
  same(res.argsList[0].map((e) => e.args), [[5], [4], [3]], `wampy, reverse: ${show(res.argsList)}`);

  await y.close();
  await p.close();
  await w.close();
});
