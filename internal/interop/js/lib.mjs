// Shared setup of the interop scenarios: the WebSocket that Autobahn|JS
// needs, the router's address from the environment, sessions that fail loudly,
// and assertions that compare binary values by content.
//
// Environment: WAMP_URL (ws://host:port/ws), WAMP_REALM (default realm1),
// WAMP_SERIALIZER (json, msgpack or cbor; default json), WAMP_TIMEOUT_MS
// (whole scenario, default 20000).

import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import autobahn from 'autobahn';

export { autobahn };

// Autobahn|JS 26 opens its WebSocket transport with `new WebSocket(url,
// protocols)` on the global object, which Node.js has by default only from
// version 22 on. The ws package implements the same interface (onopen,
// onmessage, onclose, binaryType, protocol, send, close). The subclass
// records how each connection closed, for the leave scenario.
export const closeEvents = [];

class RecordingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('close', (e) => {
      closeEvents.push({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    });
  }
}
globalThis.WebSocket = RecordingWebSocket;

export const url = requireEnv('WAMP_URL');
export const realm = process.env.WAMP_REALM || 'realm1';
export const serializers = ['json', 'msgpack', 'cbor'];
export const serializer = process.env.WAMP_SERIALIZER || 'json';
if (!serializers.includes(serializer)) {
  fatal(`WAMP_SERIALIZER=${serializer}: want one of ${serializers.join(', ')}`);
}

function requireEnv(name) {
  const v = process.env[name];
  if (!v) fatal(`environment variable ${name} is not set`);
  return v;
}

function fatal(message) {
  console.error(`FAIL: ${message}`);
  process.exit(2);
}

// WAMP's JSON convention for binary values: a string made of U+0000 and the
// standard padded base64 of the bytes. Autobahn|JS 26's JSONSerializer does
// not implement it (it hands values to JSON.stringify as they are, so a
// Buffer becomes {"type":"Buffer","data":[...]} and a Uint8Array
// {"0":..,"1":..}), but it takes a replacer and a reviver, which do it here.
function binaryReplacer(key, value) {
  // JSON.stringify has already applied Buffer's toJSON to value; the holder
  // still has the original.
  const raw = this[key];
  if (raw instanceof Uint8Array) {
    return '\u0000' + Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
  }
  return value;
}

function binaryReviver(key, value) {
  if (typeof value === 'string' && value.charCodeAt(0) === 0) {
    return Buffer.from(value.slice(1), 'base64');
  }
  return value;
}

function makeSerializer(name) {
  const S = autobahn.serializer;
  switch (name) {
    case 'json':
      return new S.JSONSerializer(binaryReplacer, binaryReviver);
    case 'msgpack':
      return new S.MsgpackSerializer();
    case 'cbor':
      return new S.CBORSerializer();
  }
  throw new Error(`unknown serializer ${name}`);
}

// trace keeps the last messages each connection sent and received, as
// decoded and as encoded, for failure messages: the frames are the evidence
// when the router and Autobahn|JS disagree.
const trace = [];
const traceLength = 12;

function record(peer, dir, msg, payload) {
  let wire = '';
  if (typeof payload === 'string') {
    wire = ` json ${JSON.stringify(payload).slice(0, 300)}`;
  } else if (payload) {
    const b = payload instanceof ArrayBuffer ? Buffer.from(payload) : Buffer.from(payload.slice ? payload.slice() : payload);
    wire = ` hex ${b.subarray(0, 150).toString('hex')}${b.length > 150 ? '...' : ''}`;
  }
  trace.push(`${peer} ${dir} ${show(msg).slice(0, 300)}${wire}`);
  if (trace.length > traceLength) trace.shift();
}

// traced wraps a serializer so that its connection's messages are traced.
function traced(ser, peer) {
  return {
    SERIALIZER_ID: ser.SERIALIZER_ID,
    BINARY: ser.BINARY,
    async serialize(msg) {
      const payload = await ser.serialize(msg);
      record(peer, 'TX', msg, payload);
      return payload;
    },
    unserialize(payload) {
      const msg = ser.unserialize(payload);
      record(peer, 'RX', msg, payload);
      return msg;
    },
  };
}

// problem fails the scenario at once for what goes wrong outside its own
// await chain: errors Autobahn reports through its hooks and connections
// that close without being asked to. Waiting would only end on the timeout
// and hide the cause.
function problem(message) {
  finish(1, message);
}

// A Peer is one Autobahn|JS connection with its joined session.
export class Peer {
  constructor(name, connection, session, details) {
    this.name = name;
    this.connection = connection;
    this.session = session;
    this.details = details;
    this.closing = false;
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
  }

  // close leaves the session and resolves with Autobahn's onclose reason
  // and details once the WebSocket is closed.
  async close() {
    this.closing = true;
    this.connection.close();
    return this.closed;
  }
}

// connect joins the realm with one serializer and resolves with a Peer.
// Autobahn's internal and user error hooks and any close not asked for by
// Peer.close fail the scenario.
export function connect(name, ser = serializer) {
  return new Promise((resolve, reject) => {
    let peer = null;
    const connection = new autobahn.Connection({
      url,
      realm,
      serializers: [traced(makeSerializer(ser), `${name}/${ser}`)],
      max_retries: 0,
      retry_if_unreachable: false,
      use_es6_promises: true,
      // Autobahn|JS 26 passes undefined here for a protocol violation it
      // detects (it calls its WAMP Error constructor without new): the
      // trace below then shows the message it refused.
      on_internal_error: (err, message) =>
        problem(`${name}: Autobahn internal error: ${message || ''} ${err === undefined ? '(no details: see the last WAMP messages)' : describe(err)}`),
      on_user_error: (err, message) => {
        // Raising autobahn.Error is how a procedure answers with ERROR;
        // Autobahn reports it through this hook as well.
        if (err instanceof autobahn.Error) return;
        problem(`${name}: error in a handler: ${message || ''} ${describe(err)}`);
      },
    });
    connection.onopen = (session, details) => {
      peer = new Peer(name, connection, session, details);
      resolve(peer);
    };
    connection.onclose = (reason, details) => {
      if (peer === null) {
        reject(new Error(`${name} (${ser}): could not join ${realm} at ${url}: ${reason} ${JSON.stringify(details)}`));
      } else if (!peer.closing) {
        problem(`${name} (${ser}): connection closed unexpectedly: ${reason} ${JSON.stringify(details)}`);
      } else {
        peer._resolveClosed({ reason, details });
      }
      return true; // never reconnect
    };
    connection.open();
  });
}

function describe(err) {
  if (err instanceof autobahn.Error) return `autobahn.Error(${err.error}, ${show(err.args)}, ${show(err.kwargs)})`;
  if (err instanceof Error) return err.stack || String(err);
  return JSON.stringify(err) ?? String(err);
}

// bytes returns a Buffer holding the given octets (Buffer is the Uint8Array
// Node.js code usually has in hand).
export function bytes(...octets) {
  return Buffer.from(octets);
}

// plain turns binary values into {bytes: hex} markers so that assert's deep
// comparison checks their content whatever their class (Buffer or
// Uint8Array), while a value that is not a Uint8Array never matches one.
function plain(v) {
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, plain(e)]));
  }
  return v;
}

// same asserts that actual equals expected deeply, binary by content. A
// binary value in expected must be a Uint8Array in actual.
export function same(actual, expected, what) {
  assert.deepStrictEqual(plain(actual), plain(expected), `${what}: got ${show(actual)}, want ${show(expected)}`);
}

// show renders a value for a failure message, binary as <hex>.
export function show(v) {
  return JSON.stringify(v, function (key, value) {
    const raw = this[key];
    if (raw instanceof Uint8Array) return `<${raw.constructor.name} ${Buffer.from(raw).toString('hex')}>`;
    return value;
  });
}

// isBinary asserts that v is a Uint8Array (a Buffer is one) with the given
// octets.
export function isBinary(v, expected, what) {
  assert.ok(v instanceof Uint8Array, `${what}: got ${show(v)} (${typeof v}), want binary ${Buffer.from(expected).toString('hex')}`);
  same(v, Buffer.from(expected), what);
}

// rejects awaits p, which must reject with an autobahn.Error, and returns
// that error.
export async function rejects(p, what) {
  let result;
  try {
    result = await p;
  } catch (err) {
    assert.ok(err instanceof autobahn.Error, `${what}: rejected with ${describe(err)}, want an autobahn.Error`);
    return err;
  }
  assert.fail(`${what}: resolved with ${show(result)}, want a rejection`);
}

// expectError asserts an autobahn.Error's URI, args and kwargs.
export function expectError(err, uri, args, kwargs, what) {
  assert.equal(err.error, uri, `${what}: error URI`);
  same(err.args, args, `${what}: error args`);
  same(err.kwargs, kwargs, `${what}: error kwargs`);
}

// Inbox buffers values (events, invocations) and hands them out in order.
export class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const w = this.waiters.shift();
    if (w) w(item);
    else this.items.push(item);
  }

  // next resolves with the next item, or rejects after ms.
  next(ms = 5000) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`${this.name}: nothing arrived within ${ms} ms`));
      }, ms);
      const waiter = (item) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.waiters.push(waiter);
    });
  }
}

// signal prints a line that the Go test waits for.
export function signal(line) {
  process.stdout.write(line + '\n');
}

let finished = false;

function finish(code, message) {
  if (finished) return;
  finished = true;
  if (code === 0) {
    process.stdout.write(message + '\n');
  } else {
    process.stderr.write(`FAIL: ${message}\nlast WAMP messages (oldest first):\n  ${trace.join('\n  ')}\n`);
  }
  // Open sockets and timers must not keep a finished scenario alive.
  process.exitCode = code;
  setImmediate(() => process.exit(code));
}

// main runs a scenario: it exits 0 and prints "PASS name" when fn resolves
// before any problem, and exits 1 with the reason and the last WAMP
// messages otherwise, or when the scenario outlives WAMP_TIMEOUT_MS.
export function main(name, fn) {
  const ms = Number(process.env.WAMP_TIMEOUT_MS || 20000);
  const timer = setTimeout(() => finish(1, `${name} (${serializer}): timed out after ${ms} ms`), ms);
  fn().then(
    () => {
      clearTimeout(timer);
      finish(0, `PASS ${name} (${serializer})`);
    },
    (err) => {
      clearTimeout(timer);
      finish(1, `${name} (${serializer}): ${describe(err)}`);
    },
  );
}
