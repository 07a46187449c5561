// ES module entry of the wampkit browser client: bundled to /wamp.js.
//
//   import { connect, Result, WampError } from '/wamp.js';
//
// The default wasmUrl, '/wamp.wasm', resolves against this module's URL.
import { setBase } from './core.js';

setBase(import.meta.url);

export { connect, Result, WampError, Session, Registration, Subscription, CallStream } from './core.js';
