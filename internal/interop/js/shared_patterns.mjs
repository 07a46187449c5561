// Shared and pattern-based registrations and pattern-based subscriptions,
// with Autobahn|JS and wampy callees and subscribers side by side:
// each invocation policy picks the callee it should, a conflicting policy
// or a second single registration is refused with the spec's error, exact
// beats prefix beats wildcard (longest prefix first), and pattern matches
// carry the concrete URI in INVOCATION.Details.procedure and
// EVENT.Details.topic.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, rejects, same, show, wampyRejects } from './lib.mjs';

main('shared_patterns', async () => {
  const a = await connect('A');
  const b = await connectWampy('B');
  const c = await connect('C');
  const caller = await connect('caller');

  // callAll makes n calls one after the other and returns the callee names.
  const callAll = async (proc, n) => {
    const names = [];
    for (let i = 0; i < n; i++) names.push(await caller.session.call(proc));
    return names;
  };

  const regs = {};
  for (const policy of ['roundrobin', 'random', 'first', 'last']) {
    const proc = `com.example.shared.${policy}`;
    regs[policy] = {
      a: await a.session.register(proc, () => 'A', { invoke: policy }),
      b: await b.wampy.register(proc, () => ({ argsList: ['B'] }), { invoke: policy }),
      c: await c.session.register(proc, () => 'C', { invoke: policy }),
    };
    assert.equal(regs[policy].a.id, Number(regs[policy].b.registrationId), `${policy}: one registration for all callees`);
    assert.equal(regs[policy].a.id, regs[policy].c.id, `${policy}: one registration for all callees`);
  }

  same(await callAll('com.example.shared.roundrobin', 6), ['A', 'B', 'C', 'A', 'B', 'C'], 'roundrobin: in registration order');
  same(await callAll('com.example.shared.first', 3), ['A', 'A', 'A'], 'first');
  same(await callAll('com.example.shared.last', 3), ['C', 'C', 'C'], 'last');
  const random = await callAll('com.example.shared.random', 24);
  assert.ok(random.every((n) => ['A', 'B', 'C'].includes(n)), `random: ${show(random)}`);
  assert.ok(new Set(random).size >= 2, `random: 24 calls all went to one callee: ${show(random)}`);

  // A wampy caller through a shared registration.
  const wr = [];
  for (let i = 0; i < 3; i++) wr.push((await b.wampy.call('com.example.shared.roundrobin')).argsList[0]);
  same(wr, ['A', 'B', 'C'], 'roundrobin continues for a wampy caller');

  // When the first or last callee leaves the registration, the next one
  // takes over.
  await regs.first.a.unregister();
  await regs.last.c.unregister();
  same(await callAll('com.example.shared.first', 2), ['B', 'B'], 'first, after A unregistered');
  same(await callAll('com.example.shared.last', 2), ['B', 'B'], 'last, after C unregistered');

  // Conflicts.
  await a.session.register('com.example.shared.single', () => 'A');
  const otherPolicy = await wampyRejects(b.wampy.register('com.example.shared.single', () => ({}), { invoke: 'roundrobin' }), 'roundrobin over single');
  assert.equal(otherPolicy.errorUri, 'wamp.error.procedure_exists_with_different_invocation_policy', `roundrobin over single: ${show(otherPolicy)}`);
  const twice = await rejects(c.session.register('com.example.shared.single', () => 'C'), 'a second single registration');
  assert.equal(twice.error, 'wamp.error.procedure_already_exists', `a second single registration: ${show(twice)}`);
  const mixed = await rejects(c.session.register('com.example.shared.roundrobin', () => 'C', { invoke: 'first' }), 'first over roundrobin');
  assert.equal(mixed.error, 'wamp.error.procedure_exists_with_different_invocation_policy', `first over roundrobin: ${show(mixed)}`);
  assert.equal(await caller.session.call('com.example.shared.single'), 'A', 'single still served by A');

  // --- pattern-based registrations ---
  const reply = (name) => (args, kwargs, details) => [name, details.procedure];
  await a.session.register('com.example.pat', reply('A prefix'), { match: 'prefix' });
  await c.session.register('com.example.pat.long', reply('C longer prefix'), { match: 'prefix' });
  await b.wampy.register('com.example.pat..run', ({ details }) => ({ argsList: [['B wildcard', details.procedure]] }), { match: 'wildcard' });
  await b.wampy.register('com.example..w.run', ({ details }) => ({ argsList: [['B wildcard 2', details.procedure]] }), { match: 'wildcard' });
  await c.session.register('com.example.pat.x.run', reply('C exact'));

  same(await caller.session.call('com.example.pat.x.run'), ['C exact', 'com.example.pat.x.run'], 'exact beats prefix and wildcard');
  same(await caller.session.call('com.example.pat.y.run'), ['A prefix', 'com.example.pat.y.run'], 'prefix beats wildcard');
  same(await caller.session.call('com.example.pat.long.y.run'), ['C longer prefix', 'com.example.pat.long.y.run'], 'longest prefix first');
  same(await caller.session.call('com.example.q.w.run'), ['B wildcard 2', 'com.example.q.w.run'], 'wildcard');
  same((await b.wampy.call('com.example.pat.y.go')).argsList, [['A prefix', 'com.example.pat.y.go']], 'prefix, wampy caller');
  const none = await rejects(caller.session.call('com.example.q.w.stop'), 'no match');
  assert.equal(none.error, 'wamp.error.no_such_procedure', `no match: ${show(none)}`);

  // --- pattern-based subscriptions ---
  const inbox = { A: new Inbox('A prefix events'), B: new Inbox('B wildcard events'), C: new Inbox('C exact events') };
  await a.session.subscribe('com.example.ps', (args, kwargs, details) => inbox.A.push([args[0], details.topic]), { match: 'prefix' });
  await b.subscribe('com.example.ps..news', ({ argsList, details }) => inbox.B.push([argsList[0], details.topic]), { match: 'wildcard' });
  await c.session.subscribe('com.example.ps.a.news', (args, kwargs, details) => inbox.C.push([args[0], details.topic]));
  for (const [topic, n] of [['com.example.ps.a.news', 1], ['com.example.ps.b.news', 2], ['com.example.ps.c', 3], ['com.example.ps.a.news', 4]]) {
    await caller.session.publish(topic, [n], {}, { acknowledge: true });
  }
  const drain = async (box, n) => {
    const got = [];
    for (let i = 0; i < n; i++) got.push(await box.next());
    return got;
  };
  same(await drain(inbox.A, 4), [[1, 'com.example.ps.a.news'], [2, 'com.example.ps.b.news'], [3, 'com.example.ps.c'], [4, 'com.example.ps.a.news']], 'prefix subscriber (Autobahn|JS)');
  same(await drain(inbox.B, 3), [[1, 'com.example.ps.a.news'], [2, 'com.example.ps.b.news'], [4, 'com.example.ps.a.news']], 'wildcard subscriber (wampy)');
  same(await drain(inbox.C, 2), [[1, 'com.example.ps.a.news'], [4, 'com.example.ps.a.news']], 'exact subscriber (Autobahn|JS)');

  await caller.close();
  await c.close();
  await b.close();
  await a.close();
});
