// Browser-to-browser RPC: this tab joins under a name, registers
// demo.rpc.NAME.greet and demo.rpc.NAME.add, and learns the other tabs over
// the demo.rpc.presence topic (a newcomer publishes hello, the others
// answer here, a leaving tab says bye). See rpc.templ for the element IDs.
import { WampError } from '/wamp.js';
import { $, join, setStatus, describe, leaveOnExit } from './common.js';

const PRESENCE = 'demo.rpc.presence';
const NAME = /^[a-z0-9_]{1,24}$/;

const form = $('#join-form');
const nameEl = $('#name');
const joinEl = $('#join');
const meEl = $('#me');
const peersEl = $('#peers');
const noPeersEl = $('#no-peers');
const resultEl = $('#result');
const rttEl = $('#rtt');
const callsEl = $('#calls');

let session = null;
let me = '';
const peers = new Map(); // name → li

const proc = (name, what) => `demo.rpc.${name}.${what}`;

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  start(nameEl.value.trim()).catch((e) => setStatus('error', describe(e)));
});

async function start(name) {
  if (!NAME.test(name)) {
    setStatus('error', 'a name is 1 to 24 of a-z, 0-9 and _');
    return;
  }
  joinEl.disabled = nameEl.disabled = true;
  try {
    // One session per tab: a name that is taken leaves it connected, for
    // the next try.
    session ??= await join((s, again) => {
      if (again && me) announce('hello');
    });
    await registerAs(name);
  } catch (e) {
    joinEl.disabled = nameEl.disabled = false;
    const taken = e instanceof WampError && e.uri === 'wamp.error.procedure_already_exists';
    setStatus('error', taken ? `the name ${name} is taken by another tab` : describe(e));
    return;
  }
  me = name;
  meEl.textContent = name;
  await session.subscribe(PRESENCE, onPresence);
  leaveOnExit(session, PRESENCE, { type: 'bye', name });
  await announce('hello');
  setStatus('open', `joined as ${name}`);
}

// registerAs registers both procedures of name, or neither.
async function registerAs(name) {
  const greeting = await session.register(proc(name, 'greet'), greet);
  try {
    await session.register(proc(name, 'add'), add);
  } catch (e) {
    await greeting.unregister().catch(() => {});
    throw e;
  }
}

function announce(type) {
  return session.publish(PRESENCE, [{ type, name: me }], null, { acknowledge: true })
    .catch((e) => setStatus('error', `announce: ${describe(e)}`));
}

function onPresence(args) {
  const { type, name } = args[0] ?? {};
  if (typeof name !== 'string' || !NAME.test(name) || name === me) return;
  if (type === 'hello') {
    addPeer(name);
    announce('here');
  } else if (type === 'here') {
    addPeer(name);
  } else if (type === 'bye') {
    removePeer(name);
  }
}

function addPeer(name) {
  if (peers.has(name)) return;
  const li = document.createElement('li');
  li.dataset.peer = name;
  const label = document.createElement('span');
  label.className = 'name';
  label.textContent = name;
  const greetBtn = document.createElement('button');
  greetBtn.className = 'greet';
  greetBtn.type = 'button';
  greetBtn.textContent = 'greet';
  greetBtn.addEventListener('click', () => callPeer(name, 'greet', [me], null));
  const addBtn = document.createElement('button');
  addBtn.className = 'add ghost';
  addBtn.type = 'button';
  addBtn.textContent = 'add';
  addBtn.title = 'add two random numbers';
  addBtn.addEventListener('click', () => {
    const a = 1 + Math.floor(Math.random() * 99);
    const b = 1 + Math.floor(Math.random() * 99);
    callPeer(name, 'add', [a, b], { from: me }, (r) => `${a} + ${b} = ${r}`);
  });
  li.append(label, greetBtn, addBtn);
  // Keep the list sorted by name.
  const next = [...peersEl.children].find((el) => el.dataset.peer > name);
  peersEl.insertBefore(li, next ?? null);
  peers.set(name, li);
  noPeersEl.hidden = true;
}

function removePeer(name) {
  const li = peers.get(name);
  if (!li) return;
  li.remove();
  peers.delete(name);
  noPeersEl.hidden = peers.size > 0;
}

async function callPeer(name, what, args, kwargs, show = String) {
  const t0 = performance.now();
  let text;
  let ok = true;
  try {
    const r = await session.call(proc(name, what), args, kwargs);
    text = show(r.args[0]);
  } catch (e) {
    ok = false;
    text = describe(e);
    if (e instanceof WampError && e.uri === 'wamp.error.no_such_procedure') removePeer(name);
  }
  const ms = performance.now() - t0;
  resultEl.textContent = text;
  Object.assign(resultEl.dataset, { peer: name, proc: proc(name, what), ok: String(ok) });
  rttEl.textContent = `${ms.toFixed(1)} ms`;
  rttEl.dataset.ms = ms.toFixed(3);
}

function logCall(from, what) {
  const li = document.createElement('li');
  li.textContent = `${from} called ${what}`;
  callsEl.prepend(li);
  while (callsEl.children.length > 50) callsEl.lastElementChild.remove();
}

function greet(args) {
  const from = typeof args[0] === 'string' ? args[0].slice(0, 24) : 'someone';
  logCall(from, 'greet');
  return `Hello ${from}, this is ${me}`;
}

function add(args, kwargs) {
  const [a, b] = args;
  if (typeof a !== 'number' || typeof b !== 'number') {
    throw new WampError('wamp.error.invalid_argument', ['add takes two numbers']);
  }
  logCall(typeof kwargs.from === 'string' ? kwargs.from.slice(0, 24) : 'someone', 'add');
  return a + b;
}
