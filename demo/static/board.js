// Shared board: notes that every tab on the board sees at once. Changes go
// over demo.board.ops; presence over demo.board.presence (hello, here,
// bye); a newcomer calls demo.board.state.ID of the first tab that answers
// its hello to fetch the current notes. See board.templ for the element IDs.
import { $, join, setStatus, describe, leaveOnExit } from './common.js';

const OPS = 'demo.board.ops';
const PRESENCE = 'demo.board.presence';
const ID = /^[a-z0-9]{1,32}$/;
const MAX_TEXT = 200;

const form = $('#add-form');
const textEl = $('#text');
const addEl = $('#add');
const itemsEl = $('#items');
const noItemsEl = $('#no-items');
const statusEl = $('#status');

const me = crypto.randomUUID().replaceAll('-', '').slice(0, 12);
$('#me').textContent = me;

let session = null;
let seq = 0;
let fetched = false; // the board came from a peer
const items = new Map(); // note id → li
const removed = new Set(); // ids of removed notes, so that a late snapshot does not revive them
const peers = new Set(); // ids of the other tabs
const tried = new Set(); // peers asked for the board

function showTabs() {
  $('#tabs').textContent = String(peers.size + 1);
}

function markSynced() {
  statusEl.dataset.synced = 'true';
}

// valid checks a note that came from another tab.
function valid(n) {
  return n && typeof n.id === 'string' && n.id.length <= 64 && typeof n.text === 'string' &&
    n.text.length <= MAX_TEXT && typeof n.by === 'string' && ID.test(n.by) && Number.isFinite(n.at);
}

function render(n, fresh) {
  if (items.has(n.id) || removed.has(n.id)) return;
  const li = document.createElement('li');
  li.dataset.id = n.id;
  li.dataset.at = String(n.at);
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = n.text;
  const by = document.createElement('span');
  by.className = 'by';
  by.textContent = n.by === me ? 'you' : n.by;
  const rm = document.createElement('button');
  rm.className = 'remove ghost';
  rm.type = 'button';
  rm.textContent = 'remove';
  rm.addEventListener('click', () => removeNote(n.id));
  li.append(text, by, rm);
  if (fresh) li.classList.add('new');
  // Oldest first; ties by id, so every tab shows the same order.
  const next = [...itemsEl.children].find((el) => Number(el.dataset.at) > n.at ||
    (Number(el.dataset.at) === n.at && el.dataset.id > n.id));
  itemsEl.insertBefore(li, next ?? null);
  items.set(n.id, { li, note: n });
  noItemsEl.hidden = true;
}

function unrender(id) {
  removed.add(id);
  const it = items.get(id);
  if (!it) return;
  it.li.remove();
  items.delete(id);
  noItemsEl.hidden = items.size > 0;
}

function publish(topic, payload) {
  return session.publish(topic, [payload], null, { acknowledge: true })
    .catch((e) => setStatus('error', `publish: ${describe(e)}`));
}

function addNote(text) {
  const n = { id: `${me}-${++seq}`, text, by: me, at: Date.now() };
  render(n, true);
  return publish(OPS, { op: 'add', note: n });
}

function removeNote(id) {
  unrender(id);
  return publish(OPS, { op: 'remove', id });
}

function onOp(args) {
  const m = args[0] ?? {};
  if (m.op === 'add' && valid(m.note)) render(m.note, true);
  else if (m.op === 'remove' && typeof m.id === 'string') unrender(m.id);
}

function onPresence(args) {
  const { type, id } = args[0] ?? {};
  if (typeof id !== 'string' || !ID.test(id) || id === me) return;
  if (type === 'bye') {
    peers.delete(id);
  } else {
    peers.add(id);
    if (type === 'hello') publish(PRESENCE, { type: 'here', id: me });
    else if (type === 'here' && !fetched) fetchBoard(id);
  }
  showTabs();
}

// fetchBoard asks a peer for the notes it holds and merges them.
async function fetchBoard(peer) {
  if (tried.has(peer)) return;
  tried.add(peer);
  try {
    const r = await session.call(`demo.board.state.${peer}`, [], null, { timeout: 5000 });
    for (const n of Array.isArray(r.args[0]) ? r.args[0] : []) {
      if (valid(n)) render(n, false);
    }
    fetched = true;
    markSynced();
  } catch {
    peers.delete(peer); // gone, or not answering: the next "here" will do
    showTabs();
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = textEl.value.trim().slice(0, MAX_TEXT);
  if (!text || !session) return;
  textEl.value = '';
  addNote(text);
});

async function start() {
  session = await join((s, again) => {
    if (again) publish(PRESENCE, { type: 'hello', id: me });
  });
  await session.register(`demo.board.state.${me}`, () => [...items.values()].map((it) => it.note));
  await session.subscribe(OPS, onOp);
  await session.subscribe(PRESENCE, onPresence);
  leaveOnExit(session, PRESENCE, { type: 'bye', id: me });
  showTabs();
  await publish(PRESENCE, { type: 'hello', id: me });
  // A board nobody else answers for is in sync already; a late answer
  // still merges.
  setTimeout(markSynced, 1500);
  addEl.disabled = false;
}

start().catch((e) => setStatus('error', describe(e)));
