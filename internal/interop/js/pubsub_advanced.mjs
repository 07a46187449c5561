// Advanced pub/sub between Autobahn|JS, wampy and the router: publisher
// identification (disclose_me), publisher exclusion (exclude_me), black-
// and whitelisting by session ID, authid and authrole (exclude, eligible,
// exclude_authid, eligible_authid, exclude_authrole, eligible_authrole),
// and event retention (retain, get_retained, Details.retained).
//
// Events from one publisher arrive in order, so each batch of publications
// ends with an "end" event that everyone receives: what a subscriber got
// before it is exactly what the router delivered to it.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, same } from './lib.mjs';

main('pubsub_advanced', async () => {
  const a = await connect('A');
  const b = await connectWampy('B');
  const c = await connect('C');
  const p = await connect('publisher');
  const id = { A: a.session.id, B: b.id, C: c.session.id, P: p.session.id };
  const authid = { A: a.details.authid, B: b.details.authid, C: c.details.authid, P: p.details.authid };
  for (const [k, v] of Object.entries(authid)) assert.ok(typeof v === 'string' && v !== '', `${k}: WELCOME authid ${v}`);
  assert.equal(new Set(Object.values(authid)).size, 4, 'four distinct authids');

  const topic = 'com.example.bw.topic';
  const inbox = { A: new Inbox('A events'), B: new Inbox('B events'), C: new Inbox('C events'), P: new Inbox('publisher events') };
  const fromAutobahn = (box) => (args, kwargs, ev) =>
    box.push({ n: args[0], publisher: ev.publisher, authid: ev.publisher_authid, authrole: ev.publisher_authrole, retained: ev.retained ?? false, topic: ev.topic });
  const fromWampy = (box) => ({ argsList, details }) =>
    box.push({ n: argsList[0], publisher: details.publisher, authid: details.publisher_authid, authrole: details.publisher_authrole, retained: details.retained ?? false, topic: details.topic });
  await a.session.subscribe(topic, fromAutobahn(inbox.A));
  await b.subscribe(topic, fromWampy(inbox.B));
  await c.session.subscribe(topic, fromAutobahn(inbox.C));
  await p.session.subscribe(topic, fromAutobahn(inbox.P));

  // until returns the events a subscriber received before "end".
  const until = async (box) => {
    const got = [];
    for (;;) {
      const ev = await box.next();
      if (ev.n === 'end') return got;
      got.push(ev);
    }
  };
  // end publishes "end" to all four subscribers and returns the events
  // each received before it. The publications before it were
  // acknowledged, so the router queued their events first.
  const end = async () => {
    await p.session.publish(topic, ['end'], {}, { acknowledge: true, exclude_me: false });
    const got = {};
    for (const k of Object.keys(inbox)) got[k] = await until(inbox[k]);
    return got;
  };
  const numbers = (got) => Object.fromEntries(Object.entries(got).map(([k, evs]) => [k, evs.map((e) => e.n)]));
  const pub = (opts) => (t, args) => p.session.publish(t, args, {}, { acknowledge: true, ...opts });

  // Publisher identification.
  await pub({})(topic, [0]);
  await pub({ disclose_me: true })(topic, [1]);
  const anon = await Promise.all([inbox.A.next(), inbox.B.next(), inbox.C.next()]);
  for (const ev of anon) same([ev.publisher, ev.authid, ev.authrole], [undefined, undefined, undefined], 'no disclose_me: no publisher details');
  const disclosed = await Promise.all([inbox.A.next(), inbox.B.next(), inbox.C.next()]);
  for (const ev of disclosed) same([ev.n, ev.publisher, ev.authid, ev.authrole], [1, id.P, authid.P, 'anonymous'], 'disclose_me: publisher details');
  same(numbers(await end()), { A: [], B: [], C: [], P: [] }, 'nothing else');

  // Exclusion and black/white listing, from an Autobahn|JS publisher.
  const cases = [
    [2, { exclude_me: false }],
    [3, { exclude: [id.B] }],
    [4, { eligible: [id.A] }],
    [5, { exclude_authid: [authid.C] }],
    [6, { eligible_authid: [authid.A, authid.B] }],
    [7, { exclude_authrole: ['anonymous'] }],
    [8, { eligible_authrole: ['anonymous'] }],
    [9, { eligible_authrole: ['admin'] }],
    [10, { eligible: [id.A, id.B], exclude: [id.A] }],
    [11, { eligible: [id.A, id.P], exclude_me: false }],
    [12, { eligible: [] }],
  ];
  for (const [n, opts] of cases) await pub(opts)(topic, [n]);
  same(numbers(await end()), {
    A: [2, 3, 4, 5, 6, 8, 11],
    B: [2, 5, 6, 8, 10],
    C: [2, 3, 8],
    P: [2, 11],
  }, 'black- and whitelisting from Autobahn|JS');

  // From a wampy publisher (wampy always asks for acknowledge, and sends
  // exclude_me only when it is true).
  const wpub = (opts) => (t, args) => b.wampy.publish(t, args, opts);
  await wpub({ exclude: [id.C] })(topic, [20]);
  await wpub({ eligible: id.A })(topic, [21]);
  await wpub({ exclude_authid: authid.A, disclose_me: true })(topic, [22]);
  await wpub({ eligible_authrole: 'anonymous' })(topic, [23]);
  const fromWampy2 = await end();
  same(numbers(fromWampy2), {
    A: [20, 21, 23],
    B: [],
    C: [22, 23],
    P: [20, 22, 23],
  }, 'black- and whitelisting from wampy');
  same(fromWampy2.C.map((e) => [e.publisher, e.authid, e.authrole]), [[id.B, authid.B, 'anonymous'], [undefined, undefined, undefined]], 'wampy disclose_me');

  // --- retention ---
  const rt = 'com.example.ret.topic';
  await pub({ retain: true })(rt, ['r1']);
  await pub({ retain: true })(rt, ['r2']);
  await pub({ retain: true })('com.example.ret.other', ['o1']);
  await pub({ retain: true, eligible: [id.A] })('com.example.ret.private', ['secret']);
  await pub({})(rt, ['not retained']);

  const ret = { A: new Inbox('A retained'), B: new Inbox('B retained'), C: new Inbox('C retained') };
  await b.subscribe(rt, fromWampy(ret.B), { get_retained: true });
  const bRet = await ret.B.next();
  same([bRet.n, bRet.retained], ['r2', true], 'wampy get_retained: the last retained event');
  await a.session.subscribe('com.example.ret', fromAutobahn(ret.A), { match: 'prefix', get_retained: true });
  const aRet = [await ret.A.next(), await ret.A.next(), await ret.A.next()];
  same(aRet.map((e) => [e.n, e.topic, e.retained]), [
    ['r2', rt, true],
    ['o1', 'com.example.ret.other', true],
    ['secret', 'com.example.ret.private', true],
  ], 'Autobahn|JS prefix subscription with get_retained: each topic\'s last retained event, oldest first');
  await c.session.subscribe('com.example.ret.private', fromAutobahn(ret.C), { get_retained: true });
  await c.session.subscribe(rt, fromAutobahn(ret.C));
  // A live event after the subscriptions: C got no retained event
  // (the private one is not for it, and the second subscription did not
  // ask), and live events carry no retained flag.
  await pub({})(rt, ['live']);
  same([(await ret.C.next()).n, (await ret.B.next()).retained], ['live', false], 'C: nothing retained; live event not marked retained');
  same((await ret.A.next()).n, 'live', 'A: the live event');

  await p.close();
  await c.close();
  await b.close();
  await a.close();
});
