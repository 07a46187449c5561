// The browser half of the bench (internal/bench/browser.go drives it).
//
// Each client's code is loaded only when the page opens a session with it,
// so that a page load measures one client's download, start and join:
//
//   ?client=wasm|autobahn&transport=websocket|longpoll
//       joins at once and sets window.benchJoin to {ms} (performance.now()
//       when the session was joined: milliseconds since navigation start)
//       or {error}; benchLeave() then ends the session.
//
// Without a query, the bench calls, in this order:
//
//   benchOpen(transports)   joins a wasm session and an Autobahn|JS session
//                           over each transport; checks one call of each;
//                           returns {callers, resolution} (of performance.now(), ms)
//   benchWarm(n, transport) n calls from each caller over transport, in
//                           turns, recorded apart (the warm-up)
//   benchRound(n, first, record)
//                           n sequential calls from each caller, the callers
//                           taken in turn starting at index first; record
//                           false for a warm-up
//   benchStats()            per caller: {client, transport, n, p50, p99, goP50,
//                           warmP50} in ms; goP50 is the median time spent in
//                           Go per call (0 for Autobahn|JS), warmP50 the
//                           median of benchWarm's calls (0 without)
//   benchCalls(i, n)        n sequential calls from caller i, not recorded
//                           (for a profile of one client and transport)
//   benchLeave()            ends every session
//
// Both clients call the bench's procedure with JSON; the router and the
// callee are the same for both: only the caller differs.

const realm = 'realm1';
const procedure = 'bench.echo';
const args = [1];

let wampkit;

// goTime is the time the page has spent in Go so far (ms): every call from
// JavaScript into wamp.wasm goes through the Go instance's _resume or
// through one of the functions it exports to the shim.
let goTime = 0;

// timeEntries makes the functions that a wasm instance exports to the shim
// (wampkit_*: entries into Go) add their time to goTime.
function timeEntries(instance) {
  const timed = {};
  for (const [name, f] of Object.entries(instance.exports)) {
    timed[name] =
      typeof f === 'function' && name.startsWith('wampkit_')
        ? (...args) => {
            const t = performance.now();
            try {
              return f(...args);
            } finally {
              goTime += performance.now() - t;
            }
          }
        : f;
  }
  return new Proxy(instance, { get: (target, key) => (key === 'exports' ? timed : Reflect.get(target, key)) });
}

async function wasmClient() {
  if (!wampkit) {
    for (const name of ['instantiate', 'instantiateStreaming']) {
      const instantiate = WebAssembly[name];
      WebAssembly[name] = async (...args) => {
        const r = await instantiate(...args);
        return { module: r.module, instance: timeEntries(r.instance) };
      };
    }
    wampkit = await import('/wamp.js');
    // wamp.js defines globalThis.Go (wasm_exec.js) and makes its instance
    // on the first connect: time each _resume of that instance.
    const Go = globalThis.Go;
    globalThis.Go = class extends Go {
      constructor() {
        super();
        const resume = this._resume.bind(this);
        this._resume = () => {
          const t = performance.now();
          try {
            resume();
          } finally {
            goTime += performance.now() - t;
          }
        };
      }
    };
  }
  return wampkit;
}

function autobahnClient() {
  if (window.autobahn) return Promise.resolve(window.autobahn);
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = '/bench/autobahn.min.js';
    s.onload = () => resolve(window.autobahn);
    s.onerror = () => reject(new Error('loading /bench/autobahn.min.js failed'));
    document.head.append(s);
  });
}

// A caller is {client, transport, call(), leave()}; call() returns the
// client's own promise, so that the timing includes nothing else.

async function openWasm(transport) {
  const w = await wasmClient();
  const s = await w.connect({ realm, transports: [transport], retry: false });
  if (s.transport !== transport) throw new Error(`wasm: joined over ${s.transport}, not ${transport}`);
  return {
    client: 'wasm',
    transport,
    call: () => s.call(procedure, args),
    check: (r) => r && Array.isArray(r.args) && r.args.length === 1 && r.args[0] === 1,
    leave: () => s.leave(),
  };
}

async function openAutobahn(transport) {
  const ab = await autobahnClient();
  const options =
    transport === 'websocket'
      ? {
          type: 'websocket',
          url: location.origin.replace(/^http/, 'ws') + '/ws',
          serializers: [new ab.serializer.JSONSerializer()],
        }
      : { type: 'longpoll', url: location.origin + '/lp' };
  let closed;
  const whenClosed = new Promise((resolve) => (closed = resolve));
  const connection = new ab.Connection({ realm, transports: [options], max_retries: 0 });
  const session = await new Promise((resolve, reject) => {
    let opened = false;
    connection.onopen = (session) => {
      opened = true;
      resolve(session);
    };
    connection.onclose = (reason, details) => {
      if (!opened) reject(new Error(`autobahn: ${reason} ${JSON.stringify(details)}`));
      closed();
      return true; // no retries
    };
    connection.open();
  });
  return {
    client: 'autobahn',
    transport,
    call: () => session.call(procedure, args),
    // One positional argument and no keyword arguments: Autobahn gives the argument itself.
    check: (r) => r === 1,
    leave: () => {
      connection.close();
      return Promise.race([whenClosed, new Promise((r) => setTimeout(r, 2000))]);
    },
  };
}

function open(client, transport) {
  if (client === 'wasm') return openWasm(transport);
  if (client === 'autobahn') return openAutobahn(transport);
  return Promise.reject(new Error(`unknown client ${client}`));
}

let callers = [];
const latencies = new Map(); // caller -> round trips in ms
const goTimes = new Map(); // caller -> time in Go per call, in ms
const warmLatencies = new Map(); // caller -> round trips of the warm-up, in ms

async function benchOpen(transports) {
  for (const transport of transports) {
    for (const client of ['wasm', 'autobahn']) {
      const c = await open(client, transport);
      callers.push(c);
      const r = await c.call();
      if (!c.check(r)) throw new Error(`${client} over ${transport}: the call returned ${JSON.stringify(r)}, not [1]`);
      latencies.set(c, []);
      goTimes.set(c, []);
    }
  }
  return { callers: callers.length, resolution: timerResolution() };
}

// timerResolution returns the smallest step of performance.now() seen, in
// ms: 0.1 in a page that is not cross-origin isolated, a few µs in one.
function timerResolution() {
  let step = Infinity;
  let last = performance.now();
  for (let seen = 0; seen < 50; ) {
    const t = performance.now();
    if (t !== last) {
      step = Math.min(step, t - last);
      last = t;
      seen++;
    }
  }
  return step;
}

// benchWarm makes n calls from each caller over transport, in batches of
// 50 in turns, and records their round trips apart.
async function benchWarm(n, transport) {
  const cs = callers.filter((c) => c.transport === transport);
  for (const c of cs) warmLatencies.set(c, []);
  for (let done = 0; done < n; done += 50) {
    for (const c of cs) {
      const lat = warmLatencies.get(c);
      for (let k = done; k < Math.min(done + 50, n); k++) {
        const t = performance.now();
        await c.call();
        lat.push(performance.now() - t);
      }
    }
  }
}

async function benchRound(n, first, record) {
  for (let i = 0; i < callers.length; i++) {
    const c = callers[(first + i) % callers.length];
    const lat = latencies.get(c);
    const inGo = goTimes.get(c);
    for (let k = 0; k < n; k++) {
      const g = goTime;
      const t = performance.now();
      await c.call();
      const d = performance.now() - t;
      if (record) {
        lat.push(d);
        inGo.push(goTime - g);
      }
    }
  }
}

// percentile is the nearest-rank p-th percentile of sorted numbers, as the
// Go side of the bench computes it.
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p * sorted.length) / 100);
  return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
}

async function benchCalls(i, n) {
  for (let k = 0; k < n; k++) await callers[i].call();
}

function benchStats() {
  return callers.map((c) => {
    const lat = latencies.get(c).slice().sort((a, b) => a - b);
    const inGo = goTimes.get(c).slice().sort((a, b) => a - b);
    const warm = (warmLatencies.get(c) ?? []).slice().sort((a, b) => a - b);
    return {
      client: c.client,
      transport: c.transport,
      n: lat.length,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      goP50: percentile(inGo, 50),
      warmP50: percentile(warm, 50),
    };
  });
}

async function benchLeave() {
  const cs = callers;
  callers = [];
  if (window.benchJoined) cs.push(window.benchJoined);
  window.benchJoined = undefined;
  await Promise.all(cs.map((c) => c.leave()));
}

Object.assign(window, { benchOpen, benchWarm, benchRound, benchCalls, benchStats, benchLeave });

const query = new URLSearchParams(location.search);
if (query.has('client')) {
  open(query.get('client'), query.get('transport')).then(
    (c) => {
      window.benchJoin = { ms: performance.now() };
      window.benchJoined = c;
    },
    (e) => {
      window.benchJoin = { error: String(e && e.stack ? e.stack : e) };
    },
  );
}
