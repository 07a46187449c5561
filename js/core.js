// The wampkit browser client: a thin shim over wamp.wasm, which runs the Go
// client. No protocol logic lives here: this file loads the WebAssembly
// module once, turns JavaScript values into one JSON string per call and
// back, and maps the bridge's answers onto promises. wamp.d.ts documents
// the API; wasm/ holds the Go half of the bridge.

// wasm_exec.js is Go's loader (it defines globalThis.Go). It is copied from
// $(go env GOROOT)/lib/wasm/wasm_exec.js at build time, from the toolchain
// that built wamp.wasm, and is not committed.
import './wasm_exec.js';

const RUNTIME_ERROR = 'wamp.error.runtime_error';

/** What a call returns, and what a procedure returns for several values or keyword results. */
export class Result {
  constructor(args = [], kwargs = {}, details = {}) {
    this.args = args;
    this.kwargs = kwargs;
    this.details = details;
  }
}

/** A WAMP error: the rejection of a failed request, or what a procedure throws. */
export class WampError extends Error {
  constructor(uri, args = [], kwargs = {}) {
    super(Array.isArray(args) && typeof args[0] === 'string' ? `${uri}: ${args[0]}` : String(uri));
    this.name = 'WampError';
    this.uri = uri;
    this.args = args;
    this.kwargs = kwargs;
  }
}

// --- values: one JSON text per crossing, binary as "\u0000" + base64 ---

const toBase64 = typeof Uint8Array.prototype.toBase64 === 'function'
  ? (bytes) => bytes.toBase64()
  : (bytes) => {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(s);
  };

const fromBase64 = typeof Uint8Array.fromBase64 === 'function'
  ? (s) => Uint8Array.fromBase64(s)
  : (s) => {
    const bin = atob(s);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  };

// replacer reads the holder's own value (this[key]), before any toJSON, so
// that every ArrayBuffer view travels as its bytes.
function replacer(key, value) {
  const raw = this[key];
  if (typeof raw === 'object' && raw !== null) {
    if (ArrayBuffer.isView(raw)) {
      return '\u0000' + toBase64(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
    }
    if (raw instanceof ArrayBuffer) return '\u0000' + toBase64(new Uint8Array(raw));
  } else if (typeof raw === 'bigint') {
    if (typeof JSON.rawJSON === 'function') return JSON.rawJSON(raw.toString());
    if (Number.isSafeInteger(Number(raw))) return Number(raw);
    throw new TypeError(`wampkit: cannot send the BigInt ${raw} in this browser (it has no JSON.rawJSON)`);
  }
  return value;
}

function reviver(_key, value) {
  return typeof value === 'string' && value.charCodeAt(0) === 0 ? fromBase64(value.slice(1)) : value;
}

// plain tells whether JSON.stringify needs no replacer for value: it has
// no binary value and no BigInt (a replacer slows JSON.stringify several
// times over). Past 32 levels it answers false: the replacer then decides.
function plain(value, depth = 0) {
  if (typeof value === 'bigint') return false;
  if (typeof value !== 'object' || value === null) return true;
  if (depth > 32 || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return false;
  if (Array.isArray(value)) return value.every((v) => plain(v, depth + 1));
  for (const k in value) {
    if (Object.hasOwn(value, k) && !plain(value[k], depth + 1)) return false;
  }
  return true;
}

const encode = (value) => (plain(value) ? JSON.stringify(value) : JSON.stringify(value, replacer));
// Go writes a NUL as \u0000, and every binary value starts with one: a text
// without it needs no reviver.
const decode = (text) => (text.includes('\\u0000') ? JSON.parse(text, reviver) : JSON.parse(text));

const messageOf = (e) => (e instanceof Error ? e.message : String(e));

function report(e) {
  if (typeof globalThis.reportError === 'function') globalThis.reportError(e);
  else console.error(e);
}

// later runs a page callback on its own microtask, reporting what it throws
// or rejects with, so that page code never runs inside a call from Go.
function later(f) {
  queueMicrotask(() => {
    try {
      const r = f();
      if (r && typeof r.then === 'function') r.then(undefined, report);
    } catch (e) {
      report(e);
    }
  });
}

// --- loading wamp.wasm, once per page ---

let base; // the URL that the default wasmUrl resolves against
let loading; // Promise<Bridge>

/** Sets the URL that the default wasmUrl resolves against (the entry module's URL). */
export function setBase(url) {
  base = url;
}

function load(wasmUrl) {
  if (!loading) {
    loading = start(wasmUrl).catch((e) => {
      loading = undefined; // let a later connect try again
      throw e;
    });
  }
  return loading;
}

async function start(wasmUrl) {
  if (typeof globalThis.Go !== 'function') {
    throw new Error('wampkit: wasm_exec.js is missing: globalThis.Go is not defined');
  }
  const go = new globalThis.Go();
  const resp = await fetch(wasmUrl);
  if (!resp.ok) throw new Error(`wampkit: cannot load ${wasmUrl}: HTTP ${resp.status}`);
  const type = (resp.headers.get('Content-Type') || '').split(';')[0].trim();
  const { instance } = typeof WebAssembly.instantiateStreaming === 'function' && type === 'application/wasm'
    ? await WebAssembly.instantiateStreaming(resp, go.importObject)
    : await WebAssembly.instantiate(await resp.arrayBuffer(), go.importObject);
  // Entries must not run while Go runs (see Entries.inGo).
  const resume = go._resume.bind(go);
  go._resume = () => {
    entries.inGo++;
    try {
      resume();
    } finally {
      entries.inGo--;
    }
  };
  const entries = new Entries(instance.exports, () => go._resume());
  // WebSockets that Go opens deliver their messages through an entry.
  globalThis.__wampkit_wsjs_attach = (ws, num) => {
    ws.onmessage = (e) => entries.message(num, e.data);
    return (addr, n, binary) => ws.send(binary ? entries.bytes(addr, n).slice() : entries.text(addr, n));
  };
  // run executes Go's main up to its first wait: the bridge exists on return.
  const exited = go.run(instance);
  const fns = globalThis.__wampkit_bridge;
  if (!fns) throw new Error(`wampkit: ${wasmUrl} did not start the wampkit bridge`);
  const bridge = new Bridge(fns, entries);
  exited.then(
    () => bridge.fail(new Error('wampkit: wamp.wasm exited')),
    (e) => bridge.fail(e),
  );
  return bridge;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

// drainDelay is how long after an entry Go is resumed, in ms: entries
// close together share one.
const drainDelay = 4;

// Sizes of the buffer in Go's memory that entries' data go through: the
// shim keeps using one of up to keptBuffer bytes (jsentry keeps it too)
// and asks for at least minBuffer.
const keptBuffer = 64 << 10;
const minBuffer = 4 << 10;

// Entries calls the functions that wamp.wasm exports for the hot paths (a
// call, a WebSocket message): numbers in, the data written into Go's
// memory, a few microseconds where a call through syscall/js costs tens.
// They run the goroutines they wake, but only Go's resume, which its own
// timeouts call, gives Go's new timers their JavaScript timeouts: the
// drain resumes Go drainDelay after an entry, off the calls' path.
class Entries {
  constructor(exports, resume) {
    this.exports = exports;
    this.inGo = 0; // how many calls into Go are under way
    this.buffer = 0; // the address of Go's buffer for entries' data (see at)
    this.size = 0; // its size, 0 when it is not kept
    this.draining = false;
    this.drain = () => {
      this.draining = false;
      try {
        resume();
      } catch (e) {
        report(e);
      }
    };
  }

  // write puts a string or an ArrayBuffer into Go's memory at offset at
  // of a buffer of room bytes (already asked for) and returns its end.
  write(ptr, room, at, data) {
    const mem = new Uint8Array(this.exports.mem.buffer, ptr, room);
    if (typeof data === 'string') return at + utf8.encodeInto(data, mem.subarray(at)).written;
    const bytes = new Uint8Array(data);
    mem.set(bytes, at);
    return at + bytes.length;
  }

  // bytes is a view of n bytes of Go's memory at addr, valid until Go runs
  // again.
  bytes(addr, n) {
    return new Uint8Array(this.exports.mem.buffer, addr >>> 0, n);
  }

  // text reads n bytes of UTF-8 at addr in Go's memory.
  text(addr, n) {
    return n === 0 ? '' : utf8Decoder.decode(this.bytes(addr, n));
  }

  // room is what data may take in Go's memory: a string's UTF-8 takes at
  // most three bytes per UTF-16 unit.
  room(data) {
    return typeof data === 'string' ? data.length * 3 : data.byteLength;
  }

  // at returns the address of room bytes in Go's memory for an entry's
  // data: the buffer of the entries before when it is large enough, else
  // one that Go makes, and keeps until it is asked for another unless it
  // is over keptBuffer (see jsentry).
  at(room) {
    if (room <= this.size) return this.buffer;
    const size = room <= keptBuffer ? Math.max(room, minBuffer) : room;
    const ptr = this.exports.wampkit_buffer(size) >>> 0;
    [this.buffer, this.size] = size <= keptBuffer ? [ptr, size] : [0, 0];
    return ptr;
  }

  // call starts call req of session sid (see the bridge's call).
  call(sid, req, procedure, payload) {
    if (this.inGo > 0) {
      this.later(() => this.call(sid, req, procedure, payload));
      return;
    }
    const room = this.room(procedure) + this.room(payload);
    const ptr = this.at(room);
    const n = this.write(ptr, room, 0, procedure);
    const end = this.write(ptr, room, n, payload);
    this.enter(() => this.exports.wampkit_call(sid, req, n, end));
  }

  // message delivers a message of WebSocket num to Go.
  message(num, data) {
    if (this.inGo > 0) {
      this.later(() => this.message(num, data));
      return;
    }
    try {
      const room = this.room(data);
      const ptr = this.at(room);
      this.enter(() => this.exports.wampkit_wsjs_message(num, this.write(ptr, room, 0, data)));
    } catch (e) {
      report(e);
    }
  }

  // enter runs an entry, counted in inGo, then asks for a drain.
  enter(f) {
    this.inGo++;
    try {
      f();
    } finally {
      this.inGo--;
    }
    this.drainSoon();
  }

  // later runs an entry that came while Go ran (JavaScript that Go
  // called, calling back) once Go has returned: Go cannot be entered
  // through an export while it runs ("function signature mismatch").
  later(f) {
    queueMicrotask(() => {
      try {
        f();
      } catch (e) {
        report(e);
      }
    });
  }

  drainSoon() {
    if (this.draining) return;
    this.draining = true;
    setTimeout(this.drain, drainDelay);
  }
}

// Bridge is the JavaScript half of the bridge: it numbers sessions and
// requests, and receives every answer from Go through host.
class Bridge {
  constructor(fns, entries) {
    this.fns = fns;
    this.entries = entries;
    this.last = 0;
    this.pending = new Map(); // request number → {resolve, reject, progress}
    this.sessions = new Map(); // session number → session state
    this.invocations = new Map(); // invocation token → AbortController of details.signal
    this.dead = null;
    fns.init((kind, n, addr, length) => {
      // Go called in: never throw back into it.
      try {
        this.host(kind, n, entries.text(addr, length));
      } catch (e) {
        report(e);
      }
    });
  }

  // request calls bridge function op(sid, req, ...args) and returns the
  // promise that Go settles with "resolve" or "reject".
  request(op, sid, ...args) {
    return this.start(op, sid, args, null, null);
  }

  // start is request with what only calls have: progress receives each
  // progressive result (host "progress"), and signal's abort rejects at
  // once with signal.reason and tells Go to cancel the call.
  start(op, sid, args, progress, signal) {
    return this.begin(op, sid, args, progress, signal).promise;
  }

  // begin is start that also returns the request number, which a call
  // stream's parts name (0 when the promise rejected at once).
  begin(op, sid, args, progress, signal) {
    let req = 0;
    const promise = new Promise((resolve, reject) => {
      if (this.dead) {
        reject(this.dead);
        return;
      }
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      req = ++this.last;
      let onAbort;
      const unlisten = () => signal?.removeEventListener('abort', onAbort);
      this.pending.set(req, {
        resolve: (v) => { unlisten(); resolve(v); },
        reject: (e) => { unlisten(); reject(e); },
        progress,
      });
      if (signal) {
        onAbort = () => {
          if (!this.pending.delete(req)) return;
          reject(signal.reason);
          try {
            this.fns.cancel(req);
          } catch (e) {
            report(e);
          }
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }
      let bad;
      try {
        if (op === 'call') this.entries.call(sid, req, ...args);
        else bad = this.fns[op](sid, req, ...args);
      } catch (e) {
        bad = e;
      }
      if (bad) {
        this.pending.delete(req);
        unlisten();
        reject(typeof bad === 'string' ? new TypeError(bad) : bad);
      }
    });
    return { req, promise };
  }

  // settle answers an invocation or a challenge that Go awaits.
  settle(token, data) {
    try {
      this.fns.settle(token, data);
    } catch (e) {
      report(e);
    }
  }

  host(kind, n, data) {
    if (kind === 'resolve' || kind === 'reject') {
      const p = this.pending.get(n);
      if (!p) return;
      this.pending.delete(n);
      if (kind === 'resolve') p.resolve(data);
      else p.reject(requestError(decode(data)));
      return;
    }
    if (kind === 'progress') {
      const f = this.pending.get(n)?.progress;
      if (!f) return;
      const [a, k, d] = decode(data);
      // Queued before the call's resolution: every onProgress runs first.
      later(() => f(new Result(a ?? [], k ?? {}, d ?? {})));
      return;
    }
    if (kind === 'interrupt') {
      const c = this.invocations.get(n);
      if (!c) return;
      this.invocations.delete(n);
      const [uri, mode, message] = decode(data);
      const reason = new WampError(uri, [message]);
      reason.mode = mode;
      // abort runs the page's listeners at once: not inside a call from Go.
      later(() => c.abort(reason));
      return;
    }
    const s = this.sessions.get(n);
    if (!s) return;
    if (kind === 'open') opened(s, decode(data));
    else if (kind === 'close') closed(s, decode(data));
    else if (kind === 'challenge') challenged(s, decode(data));
  }

  // fail ends everything when the Go program stopped.
  fail(err) {
    this.dead = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const c of this.invocations.values()) c.abort(err);
    this.invocations.clear();
    for (const s of this.sessions.values()) {
      closed(s, { reason: 'lost', willRetry: false, message: messageOf(err) });
    }
  }
}

// requestError turns a rejection [uri, args, kwargs, message] into a
// WampError, or into an Error when the failure is not a WAMP error.
function requestError([uri, args, kwargs, message]) {
  if (uri) {
    const e = new WampError(uri, args ?? [], kwargs ?? {});
    if (message) e.message = message;
    return e;
  }
  return new Error(message);
}

// --- sessions ---

// session state: {bridge, sid, opts, session, id, details, transport, open, connecting}

function opened(s, [id, details, transport]) {
  s.id = id;
  s.details = details ?? {};
  s.transport = transport;
  s.open = true;
  if (typeof s.opts.onopen === 'function') later(() => s.opts.onopen(s.session));
  if (s.connecting) {
    s.connecting.resolve(s.session);
    s.connecting = null;
  }
}

function closed(s, { reason, willRetry, message, error }) {
  s.open = false;
  if (!willRetry) s.bridge.sessions.delete(s.sid);
  if (typeof s.opts.onclose === 'function') {
    const details = { willRetry };
    if (message) details.message = message;
    later(() => s.opts.onclose(reason, details));
  }
  if (s.connecting && !willRetry) {
    s.connecting.reject(error ? new WampError(error[0], error[1] ?? [], error[2] ?? {}) : new Error(`wampkit: ${reason}: ${message}`));
    s.connecting = null;
  }
}

function challenged(s, [token, method, extra]) {
  later(async () => {
    let answer;
    try {
      const r = await s.opts.onchallenge(method, extra ?? {});
      const [signature, ext] = Array.isArray(r) ? r : [r, null];
      answer = encode([0, signature, ext ?? null]);
    } catch (e) {
      answer = encode([1, messageOf(e)]);
    }
    s.bridge.settle(token, answer);
  });
}

// yieldOf encodes a procedure's return value as [0, args, kwargs].
function yieldOf(v) {
  if (v === undefined) return encode([0, [], null]);
  if (v instanceof Result) return encode([0, v.args ?? [], v.kwargs ?? null]);
  return encode([0, [v], null]);
}

// errorOf encodes what a procedure threw as [1, uri, args, kwargs].
function errorOf(e) {
  if (e !== null && typeof e === 'object' && typeof e.uri === 'string') {
    try {
      return encode([1, e.uri, e.args ?? [], e.kwargs ?? null]);
    } catch (x) {
      return encode([1, e.uri, [`the error's arguments cannot be sent: ${messageOf(x)}`], null]);
    }
  }
  return encode([1, RUNTIME_ERROR, [messageOf(e)], null]);
}

// invocationDetails builds what a procedure receives as details: the
// INVOCATION's, plus signal (aborted on INTERRUPT), progress (a function,
// when the caller asked for progressive results) and next (when the caller
// streams its arguments). The INVOCATION's own boolean "progress" is what
// next stands for.
function invocationDetails(bridge, sid, token, raw, signal) {
  const details = { ...raw, signal };
  delete details.progress;
  if (raw.receive_progress === true) {
    details.progress = (args, kwargs) => {
      const bad = bridge.fns.progress(token, encode([args ?? [], kwargs ?? null]));
      if (bad) throw new Error(bad);
    };
  }
  if (raw.progress === true) {
    details.next = async () => {
      const part = decode(await bridge.request('next', sid, token));
      return part && { args: part[0] ?? [], kwargs: part[1] ?? {}, final: part[2] };
    };
  }
  return details;
}

async function runProcedure(bridge, sid, handler, token, payload) {
  let answer;
  const controller = new AbortController();
  bridge.invocations.set(token, controller);
  try {
    const [args, kwargs, raw] = decode(payload);
    const details = invocationDetails(bridge, sid, token, raw ?? {}, controller.signal);
    answer = yieldOf(await handler(args ?? [], kwargs ?? {}, details));
  } catch (e) {
    answer = errorOf(e);
  }
  bridge.invocations.delete(token);
  bridge.settle(token, answer);
}

const handles = new WeakMap(); // Registration or Subscription → bridge number

// revocation is what register and subscribe pass to Go before the
// Registration or Subscription exists: Go calls fn(reason) when the router
// revokes it, which resolves promise and calls the object's onrevoked
// (target, set once the object exists).
function revocation() {
  const r = { target: null };
  let resolve;
  r.promise = new Promise((res) => { resolve = res; });
  r.fn = (reason) => {
    later(() => {
      resolve(reason);
      const f = r.target?.onrevoked;
      if (typeof f === 'function') return f.call(r.target, reason);
      return undefined;
    });
  };
  return r;
}

// callOptions splits the options of call and callStream into the WAMP
// options and what the client handles, checked.
function callOptions(options) {
  const { onProgress, signal, cancelMode, ...wampOptions } = options ?? {};
  if (onProgress != null) checkFunction('options.onProgress', onProgress);
  if (signal != null && (typeof signal.addEventListener !== 'function' || typeof signal.aborted !== 'boolean')) {
    throw new TypeError('wampkit: options.signal must be an AbortSignal');
  }
  const local = { progress: onProgress != null, cancelMode: cancelMode ?? null };
  return { wampOptions, local, onProgress: onProgress ?? null, signal: signal ?? null };
}

const toResult = (data) => {
  const [a, k, d] = decode(data);
  return new Result(a ?? [], k ?? {}, d ?? {});
};

/** A call whose arguments the caller streams (progressive call invocations); session.callStream makes it. */
export class CallStream {
  #bridge;
  #sid;
  #req;
  #signal;
  #closed = false;

  constructor(bridge, sid, procedure, options) {
    const { wampOptions, local, onProgress, signal } = callOptions(options);
    const payload = encode([null, null, wampOptions, local]);
    this.#bridge = bridge;
    this.#sid = sid;
    this.#signal = signal;
    this.procedure = procedure;
    const { req, promise } = bridge.begin('stream', sid, [procedure, payload], onProgress, signal);
    this.#req = req;
    this.result = promise.then(toResult);
    // The page may read the outcome through close() alone: not unhandled.
    this.result.catch(() => {});
  }

  async send(args, kwargs) {
    if (this.#closed) throw new Error('wampkit: callStream: send after close');
    if (this.#signal?.aborted) throw this.#signal.reason;
    if (this.#req === 0) return this.result.then(() => undefined); // it failed at once: that failure
    const part = encode([args ?? [], kwargs ?? null, false]);
    await this.#bridge.request('send', this.#sid, this.#req, part);
  }

  close(args, kwargs) {
    if (this.#closed) return Promise.reject(new Error('wampkit: callStream: close called twice'));
    this.#closed = true;
    if (this.#req !== 0 && !this.#signal?.aborted) {
      let bad;
      try {
        bad = this.#bridge.fns.send(this.#sid, this.#req, this.#req, encode([args ?? [], kwargs ?? null, true]));
      } catch (e) {
        bad = e;
      }
      if (bad) {
        // Go refused the part (or is gone): the call ends here.
        const p = this.#bridge.pending.get(this.#req);
        this.#bridge.pending.delete(this.#req);
        p?.reject(typeof bad === 'string' ? new TypeError(bad) : bad);
        if (typeof bad === 'string') this.#bridge.fns.cancel(this.#req);
      }
    }
    return this.result;
  }
}

function checkString(what, v) {
  if (typeof v !== 'string') throw new TypeError(`wampkit: ${what} must be a string, got ${typeof v}`);
}

function checkFunction(what, v) {
  if (typeof v !== 'function') throw new TypeError(`wampkit: ${what} must be a function, got ${typeof v}`);
}

/** A registered procedure. */
export class Registration {
  constructor(session, procedure, id, revoked) {
    this.session = session;
    this.procedure = procedure;
    this.id = id;
    this.revoked = revoked ?? new Promise(() => {});
    this.onrevoked = null;
  }

  unregister() {
    return this.session.unregister(this);
  }
}

/** A subscription to a topic. */
export class Subscription {
  constructor(session, topic, id, revoked) {
    this.session = session;
    this.topic = topic;
    this.id = id;
    this.revoked = revoked ?? new Promise(() => {});
    this.onrevoked = null;
  }

  unsubscribe() {
    return this.session.unsubscribe(this);
  }
}

/** A session joined to a realm; connect returns it. */
export class Session {
  #s;

  constructor(state) {
    this.#s = state;
  }

  get id() {
    return this.#s.id;
  }

  get details() {
    return this.#s.details;
  }

  get transport() {
    return this.#s.transport;
  }

  get isOpen() {
    return this.#s.open;
  }

  #request(op, ...args) {
    return this.#s.bridge.request(op, this.#s.sid, ...args);
  }

  async call(procedure, args, kwargs, options) {
    checkString('procedure', procedure);
    const { wampOptions, local, onProgress, signal } = callOptions(options);
    const payload = encode([args ?? [], kwargs ?? null, wampOptions, local]);
    return toResult(await this.#s.bridge.start('call', this.#s.sid, [procedure, payload], onProgress, signal));
  }

  callStream(procedure, options) {
    checkString('procedure', procedure);
    return new CallStream(this.#s.bridge, this.#s.sid, procedure, options);
  }

  async register(procedure, handler, options) {
    checkString('procedure', procedure);
    checkFunction('handler', handler);
    const { bridge, sid } = this.#s;
    // Go calls invoke while it runs; the handler runs on its own, later.
    const invoke = (token, payload) => {
      queueMicrotask(() => runProcedure(bridge, sid, handler, token, payload));
    };
    const revoked = revocation();
    const data = await this.#request('register', procedure, encode(options ?? null), invoke, revoked.fn);
    const [handle, id] = JSON.parse(data);
    const reg = new Registration(this, procedure, id, revoked.promise);
    revoked.target = reg;
    handles.set(reg, handle);
    return reg;
  }

  async unregister(registration) {
    const handle = handles.get(registration);
    if (handle === undefined || registration.session !== this) {
      throw new TypeError('wampkit: unregister: not a registration of this session');
    }
    await this.#request('unregister', handle);
  }

  async subscribe(topic, handler, options) {
    checkString('topic', topic);
    checkFunction('handler', handler);
    const deliver = (payload) => {
      later(() => {
        const [args, kwargs, details] = decode(payload);
        return handler(args ?? [], kwargs ?? {}, details ?? {});
      });
    };
    const revoked = revocation();
    const data = await this.#request('subscribe', topic, encode(options ?? null), deliver, revoked.fn);
    const [handle, id] = JSON.parse(data);
    const sub = new Subscription(this, topic, id, revoked.promise);
    revoked.target = sub;
    handles.set(sub, handle);
    return sub;
  }

  async unsubscribe(subscription) {
    const handle = handles.get(subscription);
    if (handle === undefined || subscription.session !== this) {
      throw new TypeError('wampkit: unsubscribe: not a subscription of this session');
    }
    await this.#request('unsubscribe', handle);
  }

  async publish(topic, args, kwargs, options) {
    checkString('topic', topic);
    await this.#request('publish', topic, encode([args ?? [], kwargs ?? null, options ?? null]));
  }

  async leave(reason) {
    if (reason != null) checkString('reason', reason);
    await this.#request('leave', reason ?? '');
  }
}

// pageURL resolves url (default path) against the page, with the scheme
// pair (ws/wss or http/https) that matches the page's.
function pageURL(url, path, secure, plain) {
  const loc = globalThis.location;
  let u;
  try {
    u = new URL(url ?? path, loc?.href);
  } catch {
    return url; // no page to resolve against: the bridge says what is wrong
  }
  if (u.protocol === 'https:' || u.protocol === 'wss:') u.protocol = secure;
  else if (u.protocol === 'http:' || u.protocol === 'ws:') u.protocol = plain;
  return u.href;
}

/** Connects to the router and joins a realm; see wamp.d.ts. */
export async function connect(options) {
  const o = options ?? {};
  if (typeof o.realm !== 'string' || o.realm === '') throw new TypeError('wampkit: connect: realm is required');
  for (const hook of ['onopen', 'onclose', 'onchallenge']) {
    if (o[hook] != null) checkFunction(hook, o[hook]);
  }
  for (const secret of ['ticket', 'secret']) {
    if (o[secret] != null) checkString(secret, o[secret]);
  }
  const config = encode({
    realm: o.realm,
    url: pageURL(o.url, '/ws', 'wss:', 'ws:'),
    longpollUrl: pageURL(o.longpollUrl, '/lp', 'https:', 'http:'),
    transports: o.transports ?? null,
    serializer: o.serializer ?? null,
    retry: o.retry ?? true,
    authid: o.authid ?? null,
    authmethods: o.authmethods ?? null,
    authextra: o.authextra ?? null,
    challenge: typeof o.onchallenge === 'function',
    ticket: o.ticket ?? null,
    secret: o.secret ?? null,
    privateKey: o.privateKey ?? null,
  });
  const bridge = await load(o.wasmUrl ?? new URL('/wamp.wasm', base ?? globalThis.location?.href).href);
  if (bridge.dead) throw bridge.dead;
  return new Promise((resolve, reject) => {
    const sid = ++bridge.last;
    const s = { bridge, sid, opts: o, id: 0, details: {}, transport: '', open: false, connecting: { resolve, reject } };
    s.session = new Session(s);
    bridge.sessions.set(sid, s);
    let bad;
    try {
      bad = bridge.fns.connect(sid, config);
    } catch (e) {
      bad = e;
    }
    if (bad) {
      bridge.sessions.delete(sid);
      reject(typeof bad === 'string' ? new TypeError(bad) : bad);
    }
  });
}
