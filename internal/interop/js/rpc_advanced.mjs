// Advanced RPC between Autobahn|JS, wampy and the router: progressive call
// results both ways, call timeouts (CALL.Options.timeout in milliseconds)
// and cancellation in kill mode, plus skip and killnowait. A bare peer that
// announces call_canceling shows what the router sends an interruptible
// callee (INTERRUPT with the mode, or killnowait with reason
// wamp.error.timeout); Autobahn|JS and wampy callees announce no
// call_canceling, so they must never get INTERRUPT (both drop the session
// on one) and their late answers must be dropped by the router.

import assert from 'node:assert/strict';
import {
  autobahn, connect, connectRaw, connectWampy, ERROR, expectError, Inbox, INTERRUPT, INVOCATION, main,
  progressOf, REGISTER, REGISTERED, rejects, same, show, sleep, tracked, wampyRejects, YIELD,
} from './lib.mjs';

main('rpc_advanced', async () => {
  const ab = await connect('autobahn');
  const wp = await connectWampy('wampy');
  const w = wp.wampy;
  const raw = await connectRaw('raw-callee', {
    callee: { features: { call_canceling: true, progressive_call_results: true } },
  });

  // --- progressive results ---
  // The spec: "A Callee that supports progressive results, but does not
  // support call canceling is considered by the Dealer to not support
  // progressive results." Autobahn|JS callees announce
  // progressive_call_results without call_canceling, so they are never
  // offered receive_progress; the bare callee announces both.
  const abInvocations = new Inbox('invocations of com.example.adv.ab.countdown');
  await ab.session.register('com.example.adv.ab.countdown', (args, kwargs, details) => {
    abInvocations.push({ args, offered: typeof details.progress === 'function' });
    if (details.progress) {
      for (let i = 1; i <= args[0]; i++) details.progress([i], { step: i });
    }
    return new autobahn.Result(['done'], { n: args[0] });
  });
  const wampyProgress = [];
  const res1 = await w.call('com.example.adv.ab.countdown', [3], { progress_callback: (r) => wampyProgress.push(r) });
  same([res1.argsList, res1.argsDict, wampyProgress], [['done'], { n: 3 }, []], 'wampy caller, Autobahn|JS callee: final result only');
  same(await abInvocations.next(), { args: [3], offered: false }, 'Autobahn|JS callee (no call_canceling) is not offered progress');

  await raw.send([REGISTER, 1, {}, 'com.example.adv.raw.stream']);
  const streamReg = (await raw.expect(REGISTERED, 'REGISTERED stream'))[2];
  // stream answers the next invocation of com.example.adv.raw.stream with
  // n progressive YIELDs, gap ms apart, and a final one, and returns the
  // INVOCATION.
  const stream = async (n, gap = 0) => {
    const inv = await raw.expect(INVOCATION, 'invocation of stream');
    assert.equal(inv[2], streamReg, 'stream INVOCATION registration');
    for (let i = 1; i <= n; i++) {
      if (gap) await sleep(gap);
      await raw.send([YIELD, inv[1], { progress: true }, [i], { step: i }]);
    }
    if (gap) await sleep(gap);
    await raw.send([YIELD, inv[1], {}, ['end'], { n }]);
    return inv;
  };

  const wp1 = [];
  const wCall = w.call('com.example.adv.raw.stream', ['w'], { progress_callback: (r) => wp1.push([r.argsList, r.argsDict, r.details]) });
  same((await stream(3))[3], { receive_progress: true }, 'INVOCATION.Details for a wampy caller with progress_callback');
  const wRes = await wCall;
  same(wp1, [1, 2, 3].map((i) => [[i], { step: i }, { progress: true }]), 'wampy caller: progressive results');
  same([wRes.argsList, wRes.argsDict, wRes.details], [['end'], { n: 3 }, {}], 'wampy caller: final result');

  const p1 = ab.session.call('com.example.adv.raw.stream', ['ab'], {}, { receive_progress: true });
  same((await stream(2))[3], { receive_progress: true }, 'INVOCATION.Details for an Autobahn|JS caller with receive_progress');
  const res2 = await p1;
  same(progressOf(p1).map((r) => [r.args, r.kwargs]), [[[1], { step: 1 }], [[2], { step: 2 }]], 'Autobahn|JS caller: progressive results');
  same([res2.args, res2.kwargs], [['end'], { n: 2 }], 'Autobahn|JS caller: final result');

  // A caller that did not ask: no receive_progress, and the progressive
  // YIELDs are dropped (wampy throws on a progressive RESULT for a call
  // without progress_callback).
  const wPlain = w.call('com.example.adv.raw.stream', ['plain']);
  same((await stream(2))[3], {}, 'INVOCATION.Details for a caller that did not ask for progress');
  same((await wPlain).argsList, ['end'], 'wampy caller without progress_callback: only the final result');

  // With a timeout, progressive results restart the clock: four gaps of
  // 100 ms, 400 ms in all, under a 300 ms timeout.
  const wp2 = [];
  const wTimed = w.call('com.example.adv.raw.stream', ['timed'], { timeout: 300, progress_callback: (r) => wp2.push(r.argsList[0]) });
  same((await stream(3, 100))[3], { receive_progress: true, timeout: 300 }, 'INVOCATION.Details with a timeout');
  same([(await wTimed).argsList, wp2], [['end'], [1, 2, 3]], 'progressive call longer than its timeout, each gap shorter');

  // --- progressive results from a wampy callee (result_handler) ---
  // wampy announces no progressive_call_results as callee, so the router
  // does not put receive_progress in its INVOCATION; wampy sends
  // progressive YIELDs anyway, which reach callers that asked for them
  // and are dropped for the others.
  const wpDetails = new Inbox('invocations of com.example.adv.wampy.countdown');
  await w.register('com.example.adv.wampy.countdown', ({ argsList, details, result_handler }) => {
    wpDetails.push(details);
    for (let i = 1; i <= argsList[0]; i++) result_handler({ argsList: [i * 10], options: { progress: true } });
    return { argsList: ['finished'] };
  });
  const p2 = ab.session.call('com.example.adv.wampy.countdown', [3], {}, { receive_progress: true });
  assert.equal(await p2, 'finished', 'Autobahn|JS caller: final result of the wampy callee');
  same(progressOf(p2), [10, 20, 30], 'Autobahn|JS caller: progressive results of the wampy callee');
  same((await wpDetails.next()).receive_progress, undefined, 'no receive_progress for a callee that did not announce progressive_call_results');
  // Without progress_callback wampy would throw on a progressive RESULT.
  const res4 = await w.call('com.example.adv.wampy.countdown', [2]);
  same(res4.argsList, ['finished'], 'wampy caller without progress_callback: only the final result');
  await wpDetails.next();

  // --- timeouts ---
  await raw.send([REGISTER, 2, {}, 'com.example.adv.raw.slow']);
  const rawReg = (await raw.expect(REGISTERED, 'REGISTERED'))[2];

  // An interruptible callee: ERROR wamp.error.timeout to the caller and
  // INTERRUPT killnowait with the reason to the callee.
  const timedOut = rejects(ab.session.call('com.example.adv.raw.slow', ['t1'], {}, { timeout: 150 }), 'Autobahn|JS call with timeout 150');
  const inv1 = await raw.expect(INVOCATION, 'invocation with a timeout');
  same([inv1[2], inv1[3].timeout, inv1[4]], [rawReg, 150, ['t1']], 'INVOCATION registration, Details.timeout and args');
  const int1 = await raw.expect(INTERRUPT, 'interrupt after the timeout');
  same(int1.slice(1), [inv1[1], { mode: 'killnowait', reason: 'wamp.error.timeout' }], 'INTERRUPT after the timeout');
  assert.equal((await timedOut).error, 'wamp.error.timeout', `Autobahn|JS call with timeout 150: ${show(await timedOut)}`);
  await raw.send([ERROR, INVOCATION, inv1[1], {}, 'wamp.error.canceled']); // too late: dropped

  // A callee that cannot be interrupted: the caller gets the timeout, the
  // callee finishes unaware and its late YIELD is dropped.
  const sleepers = new Inbox('invocations of com.example.adv.ab.sleep');
  await ab.session.register('com.example.adv.ab.sleep', async (args, kwargs, details) => {
    sleepers.push({ args, timeout: details.timeout });
    await sleep(args[0]);
    return 'woke';
  });
  const wTimeout = await wampyRejects(w.call('com.example.adv.ab.sleep', [300], { timeout: 100 }), 'wampy call with timeout 100');
  assert.equal(wTimeout.errorUri, 'wamp.error.timeout', `wampy call with timeout 100: ${show(wTimeout)}`);
  // Autobahn|JS does not hand details.timeout to the handler; the value
  // on the wire is in the trace.
  same((await sleepers.next()).args, [300], 'the sleeper was invoked');
  await sleep(350); // the late YIELD has reached the router and was dropped
  assert.equal(await w.call('com.example.adv.ab.sleep', [0]).then((r) => r.argsList[0]), 'woke', 'the sleeper still serves');
  await sleepers.next();

  // --- cancel, kill mode, interruptible callee: INTERRUPT kill, and the
  // callee's answer ends the call ---
  const killed = tracked(ab.session.call('com.example.adv.raw.slow', ['k1']));
  const inv2 = await raw.expect(INVOCATION, 'invocation to kill');
  killed.promise.cancel({ mode: 'kill' });
  const int2 = await raw.expect(INTERRUPT, 'interrupt (kill)');
  same(int2.slice(1), [inv2[1], { mode: 'kill' }], 'INTERRUPT for CANCEL kill');
  await sleep(50);
  assert.equal(killed.settled, false, 'kill mode: the call waits for the callee');
  await raw.send([ERROR, INVOCATION, inv2[1], {}, 'wamp.error.canceled', ['stopped by the callee']]);
  expectError(await rejects(killed.promise, 'killed call'), 'wamp.error.canceled', ['stopped by the callee'], {}, 'Autobahn|JS call killed');

  const wKilled = tracked(w.call('com.example.adv.raw.slow', ['k2']));
  const wReq = w.getOpStatus().reqId;
  const inv3 = await raw.expect(INVOCATION, 'invocation to kill from wampy');
  assert.equal(w.cancel(wReq, { mode: 'kill' }), true, 'wampy cancel');
  same((await raw.expect(INTERRUPT, 'interrupt (kill) from wampy')).slice(1), [inv3[1], { mode: 'kill' }], 'INTERRUPT for wampy CANCEL kill');
  await sleep(50);
  assert.equal(wKilled.settled, false, 'kill mode: the wampy call waits for the callee');
  // The callee may also finish instead: its YIELD is the answer.
  await raw.send([YIELD, inv3[1], {}, ['finished anyway']]);
  same((await wKilled.promise).argsList, ['finished anyway'], 'a killed call that the callee finished');

  // killnowait: ERROR wamp.error.canceled at once, INTERRUPT killnowait.
  const nowait = w.call('com.example.adv.raw.slow', ['k3']);
  const nowaitReq = w.getOpStatus().reqId;
  const inv4 = await raw.expect(INVOCATION, 'invocation to killnowait');
  w.cancel(nowaitReq, { mode: 'killnowait' });
  const eNowait = await wampyRejects(nowait, 'killnowait call');
  assert.equal(eNowait.errorUri, 'wamp.error.canceled', `killnowait: ${show(eNowait)}`);
  same((await raw.expect(INTERRUPT, 'interrupt (killnowait)')).slice(1), [inv4[1], { mode: 'killnowait' }], 'INTERRUPT for killnowait');
  await raw.send([ERROR, INVOCATION, inv4[1], {}, 'wamp.error.canceled']);

  // skip: ERROR at once, no INTERRUPT; the callee's late YIELD is dropped.
  const skipped = w.call('com.example.adv.raw.slow', ['k4']);
  const skipReq = w.getOpStatus().reqId;
  const inv5 = await raw.expect(INVOCATION, 'invocation to skip');
  w.cancel(skipReq, { mode: 'skip' });
  assert.equal((await wampyRejects(skipped, 'skipped call')).errorUri, 'wamp.error.canceled', 'skip: error URI');
  await raw.send([YIELD, inv5[1], {}, ['too late']]);

  // kill on callees that cannot be interrupted (Autobahn|JS, wampy):
  // the router answers at once, as for skip, and sends them nothing.
  const abKill = ab.session.call('com.example.adv.wampy.countdown', [0]);
  const slowWampy = new Inbox('invocations of com.example.adv.wampy.slow');
  await w.register('com.example.adv.wampy.slow', async ({ argsList }) => {
    slowWampy.push(argsList);
    await sleep(argsList[0]);
    return { argsList: ['slow done'] };
  });
  assert.equal(await abKill, 'finished', 'a quick call before');
  await wpDetails.next();
  const abKill2 = ab.session.call('com.example.adv.wampy.slow', [200]);
  same(await slowWampy.next(), [200], 'wampy callee invoked');
  abKill2.cancel({ mode: 'kill' });
  assert.equal((await rejects(abKill2, 'kill on a wampy callee')).error, 'wamp.error.canceled', 'kill on a wampy callee');
  const wKill2 = w.call('com.example.adv.ab.sleep', [200]);
  const wKill2Req = w.getOpStatus().reqId;
  same((await sleepers.next()).args, [200], 'Autobahn|JS callee invoked');
  w.cancel(wKill2Req, { mode: 'kill' });
  assert.equal((await wampyRejects(wKill2, 'kill on an Autobahn|JS callee')).errorUri, 'wamp.error.canceled', 'kill on an Autobahn|JS callee');
  await sleep(250); // both late YIELDs reach the router and are dropped

  // Nothing else reached the bare callee (no INTERRUPT for skip), and
  // every session still works.
  assert.equal(raw.inbox.items.length, 0, `the bare callee got nothing more: ${show(raw.inbox.items)}`);
  assert.equal(await ab.session.call('com.example.adv.wampy.slow', [0]), 'slow done', 'wampy callee still serves');
  await slowWampy.next();
  assert.equal((await w.call('com.example.adv.ab.sleep', [0])).argsList[0], 'woke', 'Autobahn|JS callee still serves');

  await raw.close();
  await wp.close();
  await ab.close();
});
