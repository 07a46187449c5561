// Shared setup of the interop scenarios: the WebSocket that Autobahn|JS
// needs, the router's address from the environment, sessions that fail loudly
// (Autobahn|JS, wampy and a bare WAMP peer), and assertions that compare
// binary values by content.
//
// Environment: WAMP_URL (ws://host:port/ws), WAMP_REALM (default realm1),
// WAMP_SERIALIZER (json, msgpack or cbor; default json), WAMP_TIMEOUT_MS
// (whole scenario, default 20000).

import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import autobahn from 'autobahn';
import { Wampy } from 'wampy';
import { JsonSerializer as WampyJSON } from 'wampy/JsonSerializer.js';
import { MsgpackSerializer as WampyMsgpack } from 'wampy/MsgpackSerializer.js';
import { CborSerializer as WampyCBOR } from 'wampy/CborSerializer.js';

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

// deferred is Autobahn's promise factory: native promises, plus the notify
// that Autobahn|JS calls for each progressive result (its ES6 factory has
// none, and a RESULT with progress then throws). The results are kept on
// the promise, for progressOf.
function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => {
    d.resolve = resolve;
    d.reject = reject;
  });
  d.promise.progressive = [];
  d.notify = (result) => d.promise.progressive.push(result);
  return d;
}

// progressOf returns the progressive results that arrived so far for a
// call made with {receive_progress: true}, oldest first.
export function progressOf(callPromise) {
  return callPromise.progressive;
}

// A Peer is one Autobahn|JS connection with its joined session.
export class Peer {
  constructor(name, connection, session, details) {
    this.name = name;
    this.connection = connection;
    this.session = session;
    this.details = details;
    this.closing = false;
    this.expectingClose = false;
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
  }

  // expectClose allows the router to end the session (wamp.session.kill
  // and the like) and resolves with the GOODBYE's reason and message when
  // it does.
  async expectClose() {
    this.expectingClose = true;
    const { details } = await this.closed;
    return { reason: details.reason, message: details.message };
  }

  // close leaves the session and resolves with Autobahn's onclose reason
  // and details once the WebSocket is closed.
  async close() {
    this.closing = true;
    this.connection.close();
    return this.closed;
  }
}

// ticketLogin returns the HELLO options of Autobahn|JS that log in as authid
// with a ticket, or none for an anonymous session.
function ticketLogin(login) {
  if (!login) return {};
  return { authid: login.authid, authmethods: ['ticket'], onchallenge: () => login.ticket };
}

// connect joins the realm with one serializer and resolves with a Peer;
// login ({authid, ticket}) logs in with a ticket instead of anonymously.
// Autobahn's internal and user error hooks and any close not asked for by
// Peer.close or Peer.expectClose fail the scenario.
export function connect(name, ser = serializer, login = null) {
  return new Promise((resolve, reject) => {
    let peer = null;
    const connection = new autobahn.Connection({
      url,
      realm,
      ...ticketLogin(login),
      serializers: [traced(makeSerializer(ser), `${name}/${ser}`)],
      max_retries: 0,
      retry_if_unreachable: false,
      use_deferred: deferred,
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
      } else if (!peer.closing && !peer.expectingClose) {
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
  if (err instanceof Error && 'errorUri' in err) return `wampy ${err.name}(${err.errorUri}, ${show(err.argsList)}, ${show(err.argsDict)}): ${err.message}`;
  if (err instanceof Error) return err.stack || String(err);
  return JSON.stringify(err) ?? String(err);
}

function wampySerializer(name) {
  switch (name) {
    case 'json':
      return new WampyJSON();
    case 'msgpack':
      return new WampyMsgpack();
    case 'cbor':
      return new WampyCBOR();
  }
  throw new Error(`unknown serializer ${name}`);
}

// wampyTraced wraps a wampy serializer so that its connection's messages are
// traced; onReceive sees each message received.
function wampyTraced(ser, peer, onReceive = () => {}) {
  return {
    protocol: ser.protocol,
    isBinary: ser.isBinary,
    encode(msg) {
      const payload = ser.encode(msg);
      record(peer, 'TX', msg, payload);
      return payload;
    },
    decode(payload) {
      const msg = ser.decode(payload);
      record(peer, 'RX', msg, payload);
      onReceive(msg);
      return msg;
    },
  };
}

// A WampyPeer is one wampy connection with its joined session.
export class WampyPeer {
  constructor(name, wampy, details) {
    this.name = name;
    this.wampy = wampy;
    this.details = details; // WELCOME.Details
    this.closing = false;
    this.expectingClose = false;
    this.goodbye = null; // the router's GOODBYE, when it sends one
    this.closed = new Promise((resolve) => {
      this._resolveClosed = resolve;
    });
  }

  // expectClose allows the router to end the session (wamp.session.kill
  // and the like) and resolves with the GOODBYE's reason and message when
  // it does. wampy hands neither to the application, so they are read from
  // the message as received.
  async expectClose() {
    this.expectingClose = true;
    await this.closed;
    return { reason: this.goodbye?.[2], message: this.goodbye?.[1]?.message };
  }

  // id is the session ID as a number (see plain about BigInt).
  get id() {
    return Number(this.wampy.getSessionId());
  }

  // subscribe is wampy.subscribe with match and get_retained always set.
  // wampy puts both into SUBSCRIBE.Options even when they are undefined,
  // and its MessagePack encoder (msgpackr) writes undefined as the
  // extension value d4 00 00, which the router's MessagePack decoder
  // refuses (ABORT wamp.error.protocol_violation: "ext type (code 0xd4) ...
  // is not supported"). JSON leaves undefined out and CBOR has an
  // undefined value, which the router reads as null.
  subscribe(topic, onEvent, options = {}) {
    return this.wampy.subscribe(topic, onEvent, { match: 'exact', get_retained: false, ...options });
  }

  async close() {
    this.closing = true;
    await this.wampy.disconnect();
  }
}

// connectWampy joins the realm with wampy 8 and resolves with a WampyPeer;
// login ({authid, ticket}) logs in with a ticket instead of anonymously.
// wampy needs its WebSocket class in Node.js: the ws package, through its
// ws option. Its error hook and any close not asked for by WampyPeer.close
// or WampyPeer.expectClose fail the scenario.
//
// callerFeatures adds features to the caller role that wampy announces in
// HELLO. wampy 8.0.2 offers progressiveCall but does not announce
// progressive_call_invocations, which the specification requires of a
// caller that sends CALL with progress (a router MUST abort the session
// otherwise, and ours does); a scenario that streams announces it here.
export async function connectWampy(name, ser = serializer, login = null, callerFeatures = {}) {
  let peer = null;
  const onReceive = (msg) => {
    if (peer !== null && msg[0] === GOODBYE) peer.goodbye = msg;
  };
  const wampy = new Wampy(url, {
    realm,
    ...(login ? { authid: login.authid, authmethods: ['ticket'], onChallenge: () => login.ticket } : {}),
    ws: WebSocket,
    serializer: wampyTraced(wampySerializer(ser), `${name}/${ser}`, onReceive),
    autoReconnect: false,
    onError: (err) => problem(`${name} (wampy, ${ser}): ${describe(err)}`),
    onClose: () => {
      if (peer === null) return;
      if (!peer.closing && !peer.expectingClose) problem(`${name} (wampy, ${ser}): connection closed unexpectedly`);
      else peer._resolveClosed();
    },
  });
  Object.assign(wampy._wamp_features.roles.caller.features, callerFeatures);
  const details = await wampy.connect();
  peer = new WampyPeer(name, wampy, details);
  return peer;
}

// wampyRejects awaits p, which must reject with a wampy WAMP error (an
// ERROR from the router or a peer), and returns it.
export async function wampyRejects(p, what) {
  let result;
  try {
    result = await p;
  } catch (err) {
    assert.ok(err instanceof Error && 'errorUri' in err, `${what}: rejected with ${describe(err)}, want a wampy WAMP error`);
    return err;
  }
  assert.fail(`${what}: resolved with ${show(result)}, want a rejection`);
}

// WAMP message codes the bare peer uses.
export const HELLO = 1, WELCOME = 2, GOODBYE = 6, ERROR = 8, REGISTER = 64, REGISTERED = 65,
  INVOCATION = 68, INTERRUPT = 69, YIELD = 70;

// A RawPeer is a bare WAMP session over ws that announces exactly the
// features a scenario gives it, for router behaviour that neither
// Autobahn|JS nor wampy can show (both leave call_canceling out of their
// callee features, so the router never sends them INTERRUPT).
export class RawPeer {
  constructor(name, ws, ser) {
    this.name = name;
    this.ws = ws;
    this.ser = ser;
    this.inbox = new Inbox(`${name}: received messages`);
    this.closing = false;
    this.id = null;
  }

  async send(msg) {
    this.ws.send(await this.ser.serialize(msg));
  }

  // expect resolves with the next message, which must be of type code.
  async expect(code, what, ms = 5000) {
    const msg = await this.inbox.next(ms);
    assert.equal(msg[0], code, `${this.name}: ${what}: got ${show(msg)}, want message type ${code}`);
    return msg;
  }

  // close says GOODBYE, waits for the router's, and closes the WebSocket.
  async close() {
    this.closing = true;
    await this.send([GOODBYE, {}, 'wamp.close.normal']);
    const bye = await this.expect(GOODBYE, 'answer to GOODBYE');
    assert.equal(bye[2], 'wamp.close.goodbye_and_out', `${this.name}: GOODBYE reason`);
    this.ws.close(1000);
  }
}

// connectRaw joins the realm as a bare peer with the given HELLO roles.
export async function connectRaw(name, roles, ser = serializer) {
  const s = traced(makeSerializer(ser), `${name}/${ser}`);
  const ws = new WebSocket(url, [`wamp.2.${ser}`]);
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = (e) => reject(new Error(`${name}: WebSocket: ${e.message}`));
  });
  const peer = new RawPeer(name, ws, s);
  ws.onmessage = (e) => peer.inbox.push(s.unserialize(e.data));
  ws.onclose = (e) => {
    if (!peer.closing) problem(`${name} (${ser}): connection closed unexpectedly: ${e.code} ${e.reason}`);
  };
  await peer.send([HELLO, realm, { roles }]);
  const welcome = await peer.expect(WELCOME, 'answer to HELLO');
  peer.id = welcome[1];
  return peer;
}

// bytes returns a Buffer holding the given octets (Buffer is the Uint8Array
// Node.js code usually has in hand).
export function bytes(...octets) {
  return Buffer.from(octets);
}

// plain turns binary values into {bytes: hex} markers so that assert's deep
// comparison checks their content whatever their class (Buffer or
// Uint8Array), while a value that is not a Uint8Array never matches one.
// A BigInt becomes a number: wampy's MessagePack decoder (msgpackr) returns
// every integer the wire holds in 64 bits, such as a session ID, as BigInt.
function plain(v) {
  if (typeof v === 'bigint') return Number(v);
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
    if (typeof value === 'bigint') return `${value}n`;
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

// sleep resolves after ms.
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// tracked wraps a promise and records whether it has settled yet, without
// handling its rejection for the caller.
export function tracked(p) {
  const t = { promise: p, settled: false };
  p.then(
    () => (t.settled = true),
    () => (t.settled = true),
  );
  return t;
}
