// Advanced profile between Autobahn|JS, wampy and the wampkit Go client.
//
// Before this script starts, the Go test has registered
// com.example.goadv.shared (roundrobin), com.example.goadv.prefix (prefix),
// com.example.goadv.stream (progressive results) and
// com.example.goadv.killme (waits for INTERRUPT), and subscribed to
// com.example.goadv..event (wildcard). The script uses them, registers its
// own procedures, subscribes to com.example.goadv.to_js and prints READY;
// the Go test then calls and publishes back, and checks what it saw.

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
  await sleep(400); // the slow procedure's late YIELD, dropped by the router

  await wp.close();
  await ab.close();
});
