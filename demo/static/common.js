// Shared by the demo pages: connecting with the page's realm and the
// transport the address asks for, and showing the connection in #status and
// #transport. See layout.templ for the element IDs.
import { connect } from '/wamp.js';

export const $ = (sel) => document.querySelector(sel);

const statusEl = $('#status');
const transportEl = $('#transport');

/** Shows the connection state (idle|connecting|open|closed|error) and a line of text. */
export function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function showTransport(name) {
  transportEl.textContent = name || '-';
  transportEl.dataset.transport = name || '';
}

/** The transports that ?transport= asks for: websocket, longpoll, or both in that order. */
function transports() {
  const t = new URLSearchParams(location.search).get('transport');
  if (t === null || t === '' || t === 'auto') return ['websocket', 'longpoll'];
  if (t === 'websocket' || t === 'longpoll') return [t];
  throw new Error(`unknown transport "${t}": use websocket or longpoll`);
}

/**
 * Connects and joins the page's realm. onopen(session, again) runs after
 * every join, again being true on a reconnection; the returned promise
 * resolves with the session after the first join.
 */
export async function join(onopen) {
  setStatus('connecting', 'connecting…');
  let joined = false;
  const session = await connect({
    realm: document.body.dataset.realm,
    transports: transports(),
    onopen: (s) => {
      showTransport(s.transport);
      setStatus('open', 'connected');
      if (onopen) onopen(s, joined);
      joined = true;
    },
    onclose: (reason, details) => {
      const why = details.message ? `${reason}: ${details.message}` : reason;
      if (details.willRetry) setStatus('connecting', `reconnecting (${why})…`);
      else if (reason !== 'closed') setStatus('error', `disconnected (${why})`);
      else if (statusEl.dataset.state !== 'error') setStatus('closed', 'disconnected');
    },
  });
  showTransport(session.transport);
  return session;
}

/** The text of an error for the page: a WampError's URI and first argument, or a message. */
export function describe(e) {
  if (e && typeof e.uri === 'string') {
    return typeof e.args?.[0] === 'string' ? `${e.uri}: ${e.args[0]}` : e.uri;
  }
  return e instanceof Error ? e.message : String(e);
}

/** Leaves when the page goes away, after sending a last presence message. */
export function leaveOnExit(session, topic, goodbye) {
  addEventListener('pagehide', () => {
    if (!session.isOpen) return;
    session.publish(topic, [goodbye]).catch(() => {});
    session.leave().catch(() => {});
  });
}
