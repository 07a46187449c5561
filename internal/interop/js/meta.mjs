// The session, registration and subscription meta API as Autobahn|JS and
// wampy see it. The Go test runs this script on a realm of its own, so the
// counts and lists hold exactly this script's sessions: the meta API is
// scoped to the caller's realm.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, rejects, same, serializer, show, wampyRejects } from './lib.mjs';

main('meta', async () => {
  const w = await connect('watcher');
  const call = (proc, args, kwargs) => w.session.call(proc, args, kwargs);
  const events = new Inbox('meta events');
  for (const t of ['wamp.session.on_join', 'wamp.session.on_leave',
    'wamp.registration.on_create', 'wamp.registration.on_register', 'wamp.registration.on_unregister', 'wamp.registration.on_delete',
    'wamp.subscription.on_create', 'wamp.subscription.on_subscribe', 'wamp.subscription.on_unsubscribe', 'wamp.subscription.on_delete']) {
    await w.session.subscribe(t, (args, kwargs, ev) => events.push({ topic: ev.topic, args }));
  }
  // next returns the next meta event, which must be on topic.
  const next = async (topic) => {
    const ev = await events.next();
    assert.equal(ev.topic, topic, `next meta event: got ${show(ev)}, want one on ${topic}`);
    return ev.args;
  };

  // --- sessions ---
  assert.equal(await call('wamp.session.count'), 1, 'session count, alone in the realm');
  same(await call('wamp.session.list'), [w.session.id], 'session list, alone');

  const x = await connectWampy('X');
  const [joined] = await next('wamp.session.on_join');
  same([joined.session, joined.authid, joined.authrole, joined.transport.type, joined.transport.serializer],
    [x.id, x.details.authid, 'anonymous', 'websocket', serializer], 'on_join details');
  assert.equal(await call('wamp.session.count'), 2, 'session count');
  assert.equal(await call('wamp.session.count', [['anonymous']]), 2, 'session count with filter_authroles');
  assert.equal(await call('wamp.session.count', [['admin']]), 0, 'session count of another authrole');
  same([...(await call('wamp.session.list'))].map(Number).sort(), [w.session.id, x.id].sort(), 'session list');
  same(await call('wamp.session.get', [x.id]), joined, 'wamp.session.get = on_join details');
  const xSelf = (await x.wampy.call('wamp.session.get', [x.id])).argsList[0];
  same(xSelf, joined, 'wamp.session.get from wampy');
  const noSession = await rejects(call('wamp.session.get', [1]), 'wamp.session.get of an unknown session');
  assert.equal(noSession.error, 'wamp.error.no_such_session', `wamp.session.get of an unknown session: ${show(noSession)}`);

  // --- registrations ---
  const xr = x.wampy;
  const exact = Number((await xr.register('com.example.meta.proc', () => ({ argsList: ['x'] }), { invoke: 'roundrobin' })).registrationId);
  const [createdBy, created] = await next('wamp.registration.on_create');
  same([createdBy, created.id, created.uri, created.match, created.invoke], [x.id, exact, 'com.example.meta.proc', 'exact', 'roundrobin'], 'registration on_create');
  assert.ok(typeof created.created === 'string' && !Number.isNaN(Date.parse(created.created)), `registration created: ${created.created}`);
  same(await next('wamp.registration.on_register'), [x.id, exact], 'registration on_register (wampy)');
  const wReg = await w.session.register('com.example.meta.proc', () => 'w', { invoke: 'roundrobin' });
  same(await next('wamp.registration.on_register'), [w.session.id, exact], 'registration on_register (Autobahn|JS), no on_create');
  const prefix = Number((await xr.register('com.example.meta', () => ({}), { match: 'prefix' })).registrationId);
  await next('wamp.registration.on_create');
  await next('wamp.registration.on_register');

  assert.equal(await call('wamp.registration.lookup', ['com.example.meta.proc']), exact, 'registration lookup');
  assert.equal(await call('wamp.registration.lookup', ['com.example.meta', { match: 'prefix' }]), prefix, 'registration lookup, prefix');
  assert.equal(await call('wamp.registration.lookup', ['com.example.meta']), null, 'registration lookup of an unregistered exact URI: null');
  assert.equal(await call('wamp.registration.match', ['com.example.meta.proc']), exact, 'registration match, exact');
  assert.equal(await call('wamp.registration.match', ['com.example.meta.other']), prefix, 'registration match, prefix');
  assert.equal(await call('wamp.registration.match', ['org.example.none']), null, 'registration match, none: null');
  same(await call('wamp.registration.get', [exact]), created, 'registration get = on_create details');
  same(await call('wamp.registration.list_callees', [exact]), [x.id, w.session.id], 'registration list_callees');
  assert.equal(await call('wamp.registration.count_callees', [exact]), 2, 'registration count_callees');
  same(await call('wamp.registration.list'), { exact: [exact], prefix: [prefix], wildcard: [] }, 'registration list');
  same((await xr.call('wamp.registration.count_callees', [exact])).argsList, [2], 'registration count_callees from wampy');
  const noReg = await wampyRejects(xr.call('wamp.registration.get', [123456789]), 'registration get of an unknown ID');
  assert.equal(noReg.errorUri, 'wamp.error.no_such_registration', `registration get of an unknown ID: ${show(noReg)}`);

  await wReg.unregister();
  same(await next('wamp.registration.on_unregister'), [w.session.id, exact], 'registration on_unregister');
  assert.equal(await call('wamp.registration.count_callees', [exact]), 1, 'count_callees after one left');
  await xr.unregister('com.example.meta.proc');
  same(await next('wamp.registration.on_unregister'), [x.id, exact], 'registration on_unregister (last callee)');
  same(await next('wamp.registration.on_delete'), [x.id, exact], 'registration on_delete');
  assert.equal(await call('wamp.registration.lookup', ['com.example.meta.proc']), null, 'lookup after delete');

  // --- subscriptions ---
  const sExact = Number((await x.subscribe('com.example.meta.topic', () => {})).subscriptionId);
  const [subBy, subCreated] = await next('wamp.subscription.on_create');
  same([subBy, subCreated.id, subCreated.uri, subCreated.match], [x.id, sExact, 'com.example.meta.topic', 'exact'], 'subscription on_create');
  same(await next('wamp.subscription.on_subscribe'), [x.id, sExact], 'subscription on_subscribe (wampy)');
  const wSub = await w.session.subscribe('com.example.meta.topic', () => {});
  same(await next('wamp.subscription.on_subscribe'), [w.session.id, sExact], 'subscription on_subscribe (Autobahn|JS), no on_create');
  const sWild = Number((await x.subscribe('com.example..topic', () => {}, { match: 'wildcard' })).subscriptionId);
  await next('wamp.subscription.on_create');
  await next('wamp.subscription.on_subscribe');

  assert.equal(await call('wamp.subscription.lookup', ['com.example.meta.topic']), sExact, 'subscription lookup');
  assert.equal(await call('wamp.subscription.lookup', ['com.example..topic', { match: 'wildcard' }]), sWild, 'subscription lookup, wildcard');
  assert.equal(await call('wamp.subscription.lookup', ['com.example.none']), null, 'subscription lookup, none: null');
  same([...(await call('wamp.subscription.match', ['com.example.meta.topic']))].sort(), [sExact, sWild].sort(), 'subscription match');
  same(await call('wamp.subscription.match', ['com.example.meta.other']), null, 'subscription match, none: null');
  same(await call('wamp.subscription.get', [sExact]), subCreated, 'subscription get = on_create details');
  same(await call('wamp.subscription.list_subscribers', [sExact]), [x.id, w.session.id], 'subscription list_subscribers');
  assert.equal(await call('wamp.subscription.count_subscribers', [sExact]), 2, 'subscription count_subscribers');
  const subList = await call('wamp.subscription.list');
  // The watcher's own meta subscriptions are listed too.
  same([subList.exact.includes(sExact), subList.wildcard, subList.prefix], [true, [sWild], []], `subscription list: ${show(subList)}`);
  assert.equal(subList.exact.length, 11, `subscription list: the watcher's 10 meta topics and com.example.meta.topic: ${show(subList)}`);
  same((await xr.call('wamp.subscription.count_subscribers', [sWild])).argsList, [1], 'subscription count_subscribers from wampy');

  await wSub.unsubscribe();
  same(await next('wamp.subscription.on_unsubscribe'), [w.session.id, sExact], 'subscription on_unsubscribe');
  assert.equal(await call('wamp.subscription.count_subscribers', [sExact]), 1, 'count_subscribers after one left');

  // --- leaving: on_leave, and the leaver's subscriptions go ---
  const xId = x.id; // wampy forgets it on leaving
  await x.close();
  const leaveEvents = [];
  for (let i = 0; i < 7; i++) leaveEvents.push(await events.next());
  const byTopic = (t) => leaveEvents.filter((e) => e.topic === t).map((e) => e.args);
  same(byTopic('wamp.session.on_leave'), [[xId, x.details.authid, 'anonymous']], 'on_leave: session, authid, authrole');
  same(byTopic('wamp.subscription.on_delete').map((a) => a[1]).sort(), [sExact, sWild].sort(), 'the leaver\'s subscriptions are deleted');
  same(byTopic('wamp.registration.on_delete'), [[xId, prefix]], 'the leaver\'s registration is deleted');
  assert.equal(await call('wamp.session.count'), 1, 'session count after X left');

  await w.close();
});
