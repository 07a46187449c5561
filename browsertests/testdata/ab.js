// Autobahn|JS helpers for the browser tests (plain script, after
// /test/autobahn.min.js):
//
//   abOpen(transport)   connects over 'websocket' or 'longpoll' to this
//                       page's router, realm realm1, without retries;
//                       resolves with the session.
//
// Autobahn|JS's JSONSerializer does not implement WAMP's binary convention
// for JSON ("\0" + base64) but takes a replacer and a reviver, which do it
// here. Its long-poll transport serializes with plain JSON.stringify and
// JSON.parse, so binary does not cross it.
//
// Autobahn reports every error that a procedure throws with console.error,
// the application errors it answers with on purpose too; on_user_error
// logs those (an autobahn.Error) and leaves console.error to the rest.
(function () {
  function replacer(key, value) {
    const raw = this[key];
    if (raw instanceof Uint8Array) {
      let s = '';
      for (const b of raw) s += String.fromCharCode(b);
      return '\u0000' + btoa(s);
    }
    return value;
  }

  function reviver(key, value) {
    if (typeof value === 'string' && value.charCodeAt(0) === 0) {
      const s = atob(value.slice(1));
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
      return out;
    }
    return value;
  }

  function transportOptions(kind) {
    if (kind === 'websocket') {
      return {
        type: 'websocket',
        url: location.origin.replace(/^http/, 'ws') + '/ws',
        serializers: [new autobahn.serializer.JSONSerializer(replacer, reviver)],
      };
    }
    if (kind === 'longpoll') {
      return { type: 'longpoll', url: location.origin + '/lp' };
    }
    throw new Error('unknown transport ' + kind);
  }

  window.abOpen = function (kind) {
    return new Promise((resolve, reject) => {
      const connection = new autobahn.Connection({
        realm: 'realm1',
        transports: [transportOptions(kind)],
        max_retries: 0,
        on_user_error: (err, message) => {
          if (err instanceof autobahn.Error) console.log(message, err.error, JSON.stringify(err.args));
          else console.error(message, err);
        },
      });
      let opened = false;
      connection.onopen = (session) => {
        opened = true;
        resolve(session);
      };
      connection.onclose = (reason, details) => {
        if (!opened) reject(new Error('autobahn: ' + reason + ' ' + JSON.stringify(details)));
        return true; // no retries
      };
      connection.open();
    });
  };
})();
