// Advanced profile between Autobahn|JS, wampy and the wampkit Go client.
//
// Before this script starts, the Go test has registered
// com.example.goadv.shared (roundrobin), com.example.goadv.prefix (prefix),
// com.example.goadv.stream (progressive results), com.example.goadv.sum
// (progressive call invocations: the sum of the parts and their number) and
// com.example.goadv.killme (waits for INTERRUPT), subscribed to
// com.example.goadv..event (wildcard), published two retained events to
// com.example.goadv.retained.go, and had three Go sessions, go1 to go3 in
// this order, register com.example.goadv.pool.first, .last and .random with
// that invocation policy, each answering with its name. The script uses
// them, registers its own procedures, subscribes to com.example.goadv.to_js,
// publishes retained events under com.example.goadv.retained.js and prints
// READY; the Go test then calls and publishes back, fetches the retained
// events, and checks what it saw.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, progressOf, rejects, same, show, signal, sleep, wampyRejects } from './lib.mjs';

main('go_advanced', async () => {
  const ab = await connect('autobahn');
  const wp = await connectWampy('wampy');
  const w = wp.wampy;

  // A shared registration with the Go client first in line.
  await ab.session.register('com.example.goadv.shared', () => 'autobahn', { invoke: 'roundrobin' });
  await w.register('com.example.goadv.shared', () => ({ argsList: ['wampy'] }), { invoke: 'roundrobin' });
  const names = [];
  for (let i = 0; i < 6; i++) names.push(await ab.session.call('com.example.goadv.shared'));
  same(names, ['go', 'autobahn', 'wampy', 'go', 'autobahn', 'wampy'], 'roundrobin across Go, Autobahn|JS and wampy callees');

  // A Go prefix registration: the concrete procedure and the disclosed caller.
  same(await ab.session.call('com.example.goadv.prefix.a.b', [], {}, { disclose_me: true }), ['com.example.goadv.prefix.a.b', ab.session.id], 'Go prefix registration, Autobahn|JS caller');
  same((await w.call('com.example.goadv.prefix.c', [], { disclose_me: true })).argsList, [['com.example.goadv.prefix.c', wp.id]], 'Go prefix registration, wampy caller');

  // Progressive results from the Go callee.
  const p = ab.session.call('com.example.goadv.stream', [3], {}, { receive_progress: true });
  assert.equal(await p, 'end', 'Go stream: final result to Autobahn|JS');
  same(progressOf(p), [1, 2, 3], 'Go stream: progressive results to Autobahn|JS');
  const wProgress = [];
  const wRes = await w.call('com.example.goadv.stream', [2], { progress_callback: (r) => wProgress.push(r.argsList[0]) });
  same([wRes.argsList, wProgress], [['end'], [1, 2]], 'Go stream: results to wampy');

  // Progressive call invocations: wampy streams its arguments to the Go
  // callee, from a session that announces the feature (see connectWampy).
  const streamer = await connectWampy('streamer', undefined, null, { progressive_call_invocations: true });
  const streamed = streamer.wampy.progressiveCall('com.example.goadv.sum', { argsList: [1] });
  streamed.sendData({ argsList: [2, 3] });
  streamed.sendData({ argsList: [4] }, { progress: false });
  same((await streamed.result).argsList, [10, 3], 'wampy streams 3 parts to the Go callee: their sum and number');
  await streamer.close();
  assert.equal(await ab.session.call('com.example.goadv.stream', [2]), 'end', 'Go stream without receive_progress');

  // Cancel in kill mode: the Go handler is interrupted and its answer ends
  // the call; a timeout interrupts it with killnowait.
  const killed = ab.session.call('com.example.goadv.killme', ['kill me']);
  await sleep(100); // the Go handler is running
  killed.cancel({ mode: 'kill' });
  const kErr = await rejects(killed, 'killed Go call');
  same([kErr.error, kErr.args], ['com.example.error.interrupted', ['kill', 'wamp.error.canceled']], 'the Go handler\'s answer to INTERRUPT kill');
  const tErr = await wampyRejects(w.call('com.example.goadv.killme', ['time out'], { timeout: 100 }), 'Go call with timeout');
  assert.equal(tErr.errorUri, 'wamp.error.timeout', `Go call with timeout: ${show(tErr)}`);

  // Shared registrations whose callees are all Go sessions: first always
  // picks go1, last always go3, random spreads over the three and nothing
  // else. Autobahn|JS and wampy take turns as the caller.
  const wampyCall = async (proc) => (await w.call(proc)).argsList[0];
  const poolCalls = async (policy, n) => {
    const got = [];
    for (let i = 0; i < n; i++) got.push(await ab.session.call(`com.example.goadv.pool.${policy}`), await wampyCall(`com.example.goadv.pool.${policy}`));
    return got;
  };
  same(await poolCalls('first', 5), Array(10).fill('go1'), 'first: always the first Go callee registered');
  same(await poolCalls('last', 5), Array(10).fill('go3'), 'last: always the last Go callee registered');
  const spread = {};
  for (const name of await poolCalls('random', 30)) spread[name] = (spread[name] ?? 0) + 1;
  same(Object.keys(spread).sort(), ['go1', 'go2', 'go3'], `random: 60 calls reach each Go callee and no other (${show(spread)})`);

  // The Go session's retained event: a subscriber that asks for it gets the
  // last one, marked retained; the live event the Go test publishes after
  // READY comes next, unmarked.
  const goRetained = 'com.example.goadv.retained.go';
  const abRetained = new Inbox('Autobahn|JS events on ' + goRetained);
  await ab.session.subscribe(goRetained, (args, kwargs, ev) => abRetained.push({ n: args[0], retained: ev.retained ?? false, publisher: ev.publisher }), { get_retained: true });
  const wpRetained = new Inbox('wampy events on ' + goRetained);
  await wp.subscribe(goRetained, ({ argsList, details }) => wpRetained.push({ n: argsList[0], retained: details.retained ?? false, publisher: details.publisher }), { get_retained: true });
  const abGot = await abRetained.next();
  const wpGot = await wpRetained.next();
  same([abGot.n, abGot.retained], ['go r2', true], 'Autobahn|JS get_retained: the Go session\'s last retained event');
  same([wpGot.n, wpGot.retained, wpGot.publisher], ['go r2', true, abGot.publisher], 'wampy get_retained: the Go session\'s last retained event');

  // Retained events for the Go subscriber: the last of two on one topic,
  // which wampy's later event without retain does not replace, and one,
  // disclosed, on another. wampy 8.0.2 checks a publication's retain
  // option but leaves it out of PUBLISH.Options, so only Autobahn|JS
  // publishes retained events here.
  await ab.session.publish('com.example.goadv.retained.js.ab', ['ab r1'], {}, { acknowledge: true, retain: true });
  await ab.session.publish('com.example.goadv.retained.js.ab', ['ab r2'], {}, { acknowledge: true, retain: true });
  await ab.session.publish('com.example.goadv.retained.js.other', ['ab other'], {}, { acknowledge: true, retain: true, disclose_me: true });
  await w.publish('com.example.goadv.retained.js.ab', ['wampy live']);

  // Events to the Go wildcard subscription.
  await w.publish('com.example.goadv.x.event', ['from wampy'], { disclose_me: true });
  await ab.session.publish('com.example.goadv.y.event', ['from autobahn'], {}, { acknowledge: true });

  // Procedures and a topic for the Go client.
  const whoCalled = new Inbox('callers of com.example.goadv.js.who');
  await ab.session.register('com.example.goadv.js.who', (args, kwargs, details) => {
    whoCalled.push(details.caller);
    return details.caller;
  });
  await w.register('com.example.goadv.js.stream', ({ result_handler }) => {
    result_handler({ argsList: [10], options: { progress: true } });
    result_handler({ argsList: [20], options: { progress: true } });
    return { argsList: ['done'] };
  });
  await w.register('com.example.goadv.js.slow', async () => {
    await sleep(400);
    return { argsList: ['late'] };
  });
  const abEvents = new Inbox('Autobahn|JS events on com.example.goadv.to_js');
  await ab.session.subscribe('com.example.goadv.to_js', (args, kwargs, ev) => abEvents.push({ n: args[0], publisher: ev.publisher }));
  const wpEvents = new Inbox('wampy events on com.example.goadv.to_js');
  await wp.subscribe('com.example.goadv.to_js', ({ argsList, details }) => wpEvents.push({ n: argsList[0], publisher: details.publisher }));

  signal('READY');

  const goID = await whoCalled.next(10000);
  assert.ok(Number.isInteger(goID) && goID > 0, `Go caller disclosed: ${goID}`);
  same([await abEvents.next(10000), await abEvents.next()], [{ n: 'only autobahn', publisher: goID }, { n: 'end', publisher: undefined }], 'Autobahn|JS events from Go');
  same(await wpEvents.next(), { n: 'end', publisher: undefined }, 'wampy: only the end event (the first was for Autobahn|JS only)');
  same([await abRetained.next(), await wpRetained.next()], [{ n: 'go live', retained: false, publisher: undefined }, { n: 'go live', retained: false, publisher: undefined }], 'the live Go event after the retained one');
  assert.equal(abGot.publisher, goID, 'the retained event discloses the Go publisher');
  await sleep(400); // the slow procedure's late YIELD, dropped by the router

  await wp.close();
  await ab.close();
});
