// Globals through which the Go tests drive a page (see tab_test.go):
//
//   wampkit         the ES module /wamp.js
//   bytes(...n)     a Uint8Array of the given bytes
//   show(v)         v in a JSON form that the test compares: a Uint8Array
//                   becomes "<bytes 00ff>" (any other typed array or
//                   ArrayBuffer is "<Uint16Array ...>"-like, so that a
//                   wrong type shows), a Result {args, kwargs}, an Error
//                   {error: {class, uri, args, kwargs, message}} with
//                   class WampError, autobahn.Error or Error
//   attempt(p)      awaits p: {ok: show(value)} or show(error)
//   collect(name)   an event handler that pushes show({args, kwargs}) to
//                   received[name]
//   sleep(ms)
//   unregistered(session, proc)
//                   calls proc until the router answers
//                   wamp.error.no_such_procedure (true) or 2 s pass (false):
//                   a router answers a callee's GOODBYE before it drops
//                   the callee's registrations
//   note(list, text)
//                   appends <li>text</li> to the list <ul id=list>, made
//                   with an <h2>list</h2> heading on first use, so that
//                   what a test does shows in the page and its screenshot
//   noted(list)     the texts of that list's items ([] before any note)
//   harnessReady    true once this module has run
import * as wampkit from '/wamp.js';

// className names the error classes by what the page exports, since the
// bundles are minified and constructor names are not kept.
function className(e) {
  if (e instanceof wampkit.WampError) return 'WampError';
  if (globalThis.autobahn && e instanceof autobahn.Error) return 'autobahn.Error';
  if (e instanceof Error) return 'Error';
  return typeof e;
}

const hex = (u8) => Array.from(u8, (b) => b.toString(16).padStart(2, '0')).join('');

function show(v) {
  if (v instanceof Uint8Array && v.constructor === Uint8Array) return `<bytes ${hex(v)}>`;
  if (ArrayBuffer.isView(v)) return `<${v.constructor.name} ${hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}>`;
  if (v instanceof ArrayBuffer) return `<ArrayBuffer ${hex(new Uint8Array(v))}>`;
  if (v instanceof Error || (v && typeof v.error === 'string' && 'args' in v)) {
    // A wampkit WampError, a plain Error, or an autobahn.Error (whose URI is .error).
    return {
      error: {
        class: className(v),
        uri: v.uri ?? v.error ?? null,
        args: show(v.args ?? []),
        kwargs: show(v.kwargs ?? {}),
        message: v.message ?? '',
      },
    };
  }
  if (v instanceof wampkit.Result) return { args: show(v.args), kwargs: show(v.kwargs) };
  if (globalThis.autobahn && v instanceof autobahn.Result) return { args: show(v.args ?? []), kwargs: show(v.kwargs ?? {}) };
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = show(x);
    return o;
  }
  return v === undefined ? null : v;
}

async function attempt(p) {
  try {
    return { ok: show(await p) };
  } catch (e) {
    return show(e);
  }
}

const received = {};

function collect(name) {
  received[name] = [];
  return (args, kwargs) => {
    received[name].push(show({ args: args ?? [], kwargs: kwargs ?? {} }));
  };
}

async function unregistered(session, proc) {
  const end = performance.now() + 2000;
  while (performance.now() < end) {
    const r = await attempt(session.call(proc, [], {}, { timeout: 1000 }));
    if (r.error && r.error.uri === 'wamp.error.no_such_procedure') return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

function note(list, text) {
  let ul = document.getElementById(list);
  if (!ul) {
    const h = document.createElement('h2');
    h.textContent = list;
    ul = document.createElement('ul');
    ul.id = list;
    document.body.append(h, ul);
  }
  const li = document.createElement('li');
  li.textContent = String(text);
  ul.append(li);
}

function noted(list) {
  return Array.from(document.getElementById(list)?.children ?? [], (li) => li.textContent);
}

Object.assign(window, {
  wampkit,
  bytes: (...n) => new Uint8Array(n),
  show,
  attempt,
  received,
  collect,
  unregistered,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  note,
  noted,
  harnessReady: true,
});
