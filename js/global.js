// Plain-script entry of the wampkit browser client: bundled (as an IIFE) to
// /wamp.global.js, it sets globalThis.wampkit = { connect, Result, WampError, ... }.
//
//   <script src="/wamp.global.js"></script>
//   <script> wampkit.connect({ realm: 'realm1' }).then(...) </script>
//
// The default wasmUrl, '/wamp.wasm', resolves against this script's URL.
import { connect, Result, WampError, Session, Registration, Subscription, CallStream, setBase } from './core.js';

setBase(globalThis.document?.currentScript?.src);

globalThis.wampkit = { connect, Result, WampError, Session, Registration, Subscription, CallStream };
