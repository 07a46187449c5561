// Autobahn|JS's Node.js raw socket transport against the router, over TCP
// (WAMP_URL rs://host:port) or a Unix socket (WAMP_URL unix:///path). The
// transport speaks JSON only (its framing calls JSON.stringify itself), so
// no binary values cross here.
//
// Before this script starts, the Go test has joined over the same URL,
// registered com.example.rs.concat and subscribed to com.example.rs.from_js.
// Two raw socket sessions call Go and each other, publish to Go and to each
// other, and see an error URI; the script prints READY. The Go test then
// calls com.example.rs.add2 and publishes to com.example.rs.to_js. The
// script waits for that event, stays idle past the router's ping timeout
// (the router pings it and must get its PONGs, or it drops the session),
// calls once more and leaves.

import assert from 'node:assert/strict';
import { autobahn, Inbox, main, rejects, same, show, signal } from './lib.mjs';

const url = new URL(process.env.WAMP_URL);
const realm = process.env.WAMP_REALM || 'realm1';
const idleMs = Number(process.env.WAMP_IDLE_MS || 1500);

// transport is Autobahn's raw socket transport configuration for WAMP_URL.
function transport() {
  switch (url.protocol) {
    case 'rs:':
      return { type: 'rawsocket', host: url.hostname, port: Number(url.port) };
    case 'unix:':
      return { type: 'rawsocket', path: url.pathname };
  }
  throw new Error(`WAMP_URL ${url}: want rs://host:port or unix:///path`);
}

// connect joins the realm over a raw socket. A close that close() did not
// ask for fails the scenario at once: it is how a missed PONG shows.
function connect(name) {
  return new Promise((resolve, reject) => {
    let joined = false;
    let closing = false;
    let closed;
    const done = new Promise((r) => (closed = r));
    const connection = new autobahn.Connection({
      transports: [transport()],
      realm,
      max_retries: 0,
      retry_if_unreachable: false,
      use_es6_promises: true,
      on_internal_error: (err, message) => fail(`${name}: Autobahn internal error: ${message || ''} ${err}`),
      on_user_error: (err, message) => {
        if (!(err instanceof autobahn.Error)) fail(`${name}: error in a handler: ${message || ''} ${err && err.stack}`);
      },
    });
    connection.onopen = (session) => {
      joined = true;
      resolve({
        session,
        transport: connection.transport.info.type,
        close() {
          closing = true;
          connection.close();
          return done;
        },
      });
    };
    connection.onclose = (reason, details) => {
      if (!joined) {
        reject(new Error(`${name}: could not join ${realm} at ${url}: ${reason} ${JSON.stringify(details)}`));
      } else if (!closing) {
        fail(`${name}: connection closed unexpectedly: ${reason} ${JSON.stringify(details)}`);
      }
      closed(reason);
      return true; // never reconnect
    };
    connection.open();
  });
}

function fail(message) {
  process.stderr.write(`FAIL: ${message}\n`);
  process.exit(1);
}

main('rawsocket', async () => {
  const a = await connect('A');
  const b = await connect('B');
  assert.equal(a.transport, 'rawsocket', 'A runs on the raw socket transport');
  assert.notEqual(a.session.id, b.session.id, 'distinct session IDs');

  // Go's procedure.
  assert.equal(await b.session.call('com.example.rs.concat', ['raw', 'socket']), 'rawsocket', 'concat from JS');

  // A's procedure and topic, used by B and later by Go.
  await a.session.register('com.example.rs.add2', (args) => args[0] + args[1]);
  const toJs = new Inbox('events on com.example.rs.to_js');
  await a.session.subscribe('com.example.rs.to_js', (args, kwargs, details) => toJs.push({ args, kwargs, details }));
  assert.equal(await b.session.call('com.example.rs.add2', [2, 3]), 5, 'add2(2, 3) from B');

  const pub = await b.session.publish('com.example.rs.from_js', ['hello from js', 1], { k: 'v', nested: { list: [true, null] } }, { acknowledge: true });
  assert.ok(pub instanceof autobahn.Publication, `publish with acknowledge: got ${show(pub)}`);
  b.session.publish('com.example.rs.to_js', ['from B'], {});
  const fromB = await toJs.next();
  same(fromB.args, ['from B'], 'event from B');

  const err = await rejects(b.session.call('com.example.rs.missing', []), 'com.example.rs.missing');
  assert.equal(err.error, 'wamp.error.no_such_procedure', 'missing procedure: error URI');

  signal('READY');

  const fromGo = await toJs.next(10000);
  same(fromGo.args, ['from go', 3], 'event from Go: args');
  same(fromGo.kwargs, { n: 1.5 }, 'event from Go: kwargs');

  // Idle past the router's ping timeout: only answered PINGs keep us.
  await new Promise((r) => setTimeout(r, idleMs));
  assert.equal(await b.session.call('com.example.rs.add2', [40, 2]), 42, 'add2 after the idle time');

  await b.close();
  await a.close();
});
