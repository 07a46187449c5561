// Types of the wampkit browser client (/wamp.js; /wamp.global.js sets the
// same exports on globalThis.wampkit). The client is the Go client of
// wampkit compiled to WebAssembly (/wamp.wasm); this module only loads it
// and passes values across.
//
//   import { connect, Result, WampError } from '/wamp.js';
//   const session = await connect({ realm: 'realm1' });
//   await session.register('com.example.add', (args) => args[0] + args[1]);
//   const r = await session.call('com.example.add', [2, 3]); // r.args[0] === 5

/**
 * A value that crosses the wire: what JSON carries, plus binary. A
 * Uint8Array (any ArrayBuffer view or ArrayBuffer, sent as its bytes)
 * arrives at Go, msgpack and CBOR peers as binary and at JSON peers in the
 * WAMP convention ("\u0000" + base64); binary received is a Uint8Array.
 * Integers up to 2^53 are exact; a larger integer received is rounded to
 * the nearest number. A BigInt is sent exactly where the browser has
 * JSON.rawJSON. undefined in an object is left out, in an array it is null.
 */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ArrayBufferView
  | ArrayBuffer
  | Value[]
  | { [key: string]: Value | undefined };

/** Positional arguments. */
export type Args = Value[];
/** Keyword arguments. An undefined value is left out, as in any object Value. */
export type Kwargs = { [key: string]: Value | undefined };
/** The details of a RESULT, INVOCATION or EVENT, and WELCOME's. */
export type Details = { [key: string]: Value };

/** How a session ended, as onclose hears it. */
export type CloseReason =
  /** The page left (session.leave()). */
  | 'closed'
  /** The transport failed after the join. */
  | 'lost'
  /** The join did not succeed: no transport could be opened. */
  | 'unreachable'
  /** The router's GOODBYE or ABORT reason, e.g. 'wamp.close.system_shutdown' or 'wamp.error.no_such_realm'. */
  | (string & {});

export interface ConnectOptions {
  /** The realm to join. Required. */
  realm: string;
  /** WebSocket URL. Default: ws(s)://<page host>/ws; a relative URL resolves against the page, http(s) becomes ws(s). */
  url?: string;
  /** Long-poll base URL. Default: http(s)://<page host>/lp. */
  longpollUrl?: string;
  /**
   * Transports in order of preference. Default ['websocket', 'longpoll']:
   * WebSocket first, long-poll when WebSocket cannot open (refused, or a
   * proxy that strips the upgrade). ['longpoll'] forces long-poll.
   */
  transports?: Array<'websocket' | 'longpoll'>;
  /** Serializer on the wire. Default 'json'. 'cbor' needs a wamp.wasm built with CBOR: the default build rejects it. */
  serializer?: 'json' | 'msgpack' | 'cbor';
  /**
   * Default true: once joined, a session that loses its router (or that the
   * router shuts down) reconnects with backoff, registers and subscribes
   * again what it had (same handlers), then calls onopen. Requests made
   * while it is away reject at once with an Error ("not connected"). The
   * first join is tried once over each transport: connect rejects when all
   * fail. false: a lost session is closed for good.
   */
  retry?: boolean;
  /** Authentication ID announced in HELLO. The router decides the one the session gets (session.details.authid). */
  authid?: string;
  /**
   * Authentication methods offered, in order of preference, e.g. ['ticket'],
   * or ['cookie', 'ticket'] to be welcomed by a login cookie that the router
   * set earlier, with the ticket when there is none. Default: those that
   * privateKey, secret and ticket serve, in that order; else anonymous.
   */
  authmethods?: string[];
  /** HELLO's authextra, for methods that need data up front. */
  authextra?: Kwargs;
  /**
   * Answers a CHALLENGE: return the signature, or [signature, extra], or a
   * promise of either. A throw or rejection aborts the join
   * (wamp.error.authentication_failed).
   */
  onchallenge?: (method: string, extra: Details) => string | [string, Kwargs] | Promise<string | [string, Kwargs]>;
  /**
   * Ticket authentication: the user's ticket (needs authid). The client
   * answers the router's challenge; the page needs no code of its own.
   * The ticket travels in clear: use wss://.
   */
  ticket?: string;
  /**
   * WAMP-CRA: the user's secret (needs authid). For a salted user this is
   * the password: the client derives the key with the router's salt,
   * iterations and keylen.
   */
  secret?: string;
  /**
   * WAMP-Cryptosign: the Ed25519 private key's 32-byte seed, as 64 hex
   * digits or a Uint8Array. The client sends its public key in
   * authextra.pubkey and signs the router's challenge; authid is optional.
   */
  privateKey?: string | Uint8Array;
  /** Called after every join: the first and each reconnection. */
  onopen?: (session: Session) => void;
  /**
   * Called each time a session ends or the first join fails. The last call
   * has willRetry false; the session is then closed for good.
   */
  onclose?: (reason: CloseReason, details: { willRetry: boolean; message?: string }) => void;
  /**
   * URL of wamp.wasm. Default: '/wamp.wasm' resolved against the URL of
   * wamp.js (or wamp.global.js). The module loads once per page: the first
   * connect's wasmUrl is the one used.
   */
  wasmUrl?: string;
}

/** WAMP options of a request, passed to the router as they are (e.g. { x_custom: 1 }). */
export interface RequestOptions {
  [key: string]: Value | undefined;
}

/** Options of a call: the WAMP options passed to the router, plus onProgress, signal and cancelMode, which the client handles. */
export interface CallOptions {
  [key: string]: Value | undefined | ((result: Result) => void) | AbortSignal;
  /**
   * Milliseconds the router gives the call (call_timeout): past it the
   * call rejects with WampError 'wamp.error.timeout' and the callee is
   * interrupted. Against a router that does not announce call_timeout,
   * the client itself gives up after it (and sends CANCEL).
   */
  timeout?: number;
  /** Disclose this session to the callee (details.caller, caller_authid, caller_authrole). */
  disclose_me?: boolean;
  /**
   * Receives each progressive result, in order, before the promise
   * resolves with the final one (result.details.progress is true).
   * Setting it sends receive_progress.
   */
  onProgress?: (result: Result) => void;
  /**
   * Aborting it cancels the call: the promise rejects at once with
   * signal.reason (a DOMException 'AbortError' for controller.abort(),
   * 'TimeoutError' for AbortSignal.timeout()), and the router gets CANCEL
   * in cancelMode. A signal already aborted rejects without calling.
   */
  signal?: AbortSignal;
  /**
   * What the router does with the callee on abort: 'killnowait' (default:
   * interrupt it, answer at once), 'kill' (interrupt it, wait for its
   * answer, which the page no longer hears) or 'skip' (let it finish).
   */
  cancelMode?: 'skip' | 'kill' | 'killnowait';
}

export interface PublishOptions extends RequestOptions {
  /** Wait for the router to confirm (PUBLISHED); a refusal then rejects with a WampError. */
  acknowledge?: boolean;
  /** Leave the publisher out of the receivers (router default true). */
  exclude_me?: boolean;
  /** Disclose this session to subscribers (details.publisher, publisher_authid, publisher_authrole). */
  disclose_me?: boolean;
  /** Keep this event as the topic's retained one, for subscribers that ask with get_retained. */
  retain?: boolean;
  /** Session IDs that do not receive it. */
  exclude?: number[];
  /** Only these session IDs may receive it. */
  eligible?: number[];
  /** authids that do not receive it. */
  exclude_authid?: string[];
  /** Only these authids may receive it. */
  eligible_authid?: string[];
  /** authroles that do not receive it. */
  exclude_authrole?: string[];
  /** Only these authroles may receive it. */
  eligible_authrole?: string[];
}

export interface RegisterOptions extends RequestOptions {
  /** 'exact' (default), 'prefix' or 'wildcard'; details.procedure tells the URI called. */
  match?: 'exact' | 'prefix' | 'wildcard';
  /**
   * Shared registration: 'single' (default, one callee), 'roundrobin',
   * 'random', 'first' or 'last'. Every callee of the procedure must use the
   * same policy ('wamp.error.procedure_exists_with_different_invocation_policy').
   */
  invoke?: 'single' | 'roundrobin' | 'random' | 'first' | 'last';
  /** Disclose every caller to this procedure, as if each used disclose_me. */
  disclose_caller?: boolean;
}

export interface SubscribeOptions extends RequestOptions {
  /** 'exact' (default), 'prefix' or 'wildcard'; details.topic tells the topic published to. */
  match?: 'exact' | 'prefix' | 'wildcard';
  /** Receive the retained events this subscription covers at once (details.retained true). */
  get_retained?: boolean;
}

/** A later part of a call whose caller streams its arguments (progressive call invocations). */
export interface Part {
  args: Args;
  kwargs: Kwargs;
  /** The caller's last part. */
  final: boolean;
}

/** What a procedure receives as details: the INVOCATION's details, plus functions of the page. */
export interface InvocationDetails {
  /** The URI called: the concrete one for a pattern registration. */
  procedure: string;
  /** The caller's session ID, when disclosed (disclose_me, disclose_caller). */
  caller?: number;
  caller_authid?: string;
  caller_authrole?: string;
  /** The caller asked for progressive results: details.progress exists. */
  receive_progress?: boolean;
  /** The call's timeout in milliseconds, when it has one. */
  timeout?: number;
  /**
   * Present when the caller asked for progressive results: sends one
   * before the procedure returns its final value. Throws once the
   * procedure answered or was interrupted.
   */
  progress?: (args?: Args | null, kwargs?: Kwargs | null) => void;
  /**
   * Present when the caller streams its arguments: resolves with the next
   * part, or null after the last one (args holds the first part).
   */
  next?: () => Promise<Part | null>;
  /**
   * Aborted when the router interrupts the invocation (the caller canceled
   * the call, or it timed out) or the session ends. signal.reason is a
   * WampError 'wamp.error.canceled' or 'wamp.error.timeout' with a mode
   * property; the client has then answered already and the procedure's
   * value or throw is dropped.
   */
  signal: AbortSignal;
  [key: string]: unknown;
}

/** What an event handler receives as details. */
export interface EventDetails {
  /** The topic published to: the concrete one for a pattern subscription. */
  topic: string;
  /** The publisher's session ID, when it disclosed itself. */
  publisher?: number;
  publisher_authid?: string;
  publisher_authrole?: string;
  /** A retained event sent because of get_retained, not a new publication. */
  retained?: boolean;
  [key: string]: Value | undefined;
}

/**
 * What a call returns, and what a procedure returns to yield several
 * positional values or keyword results.
 */
export class Result {
  constructor(args?: Args, kwargs?: Kwargs, details?: Details);
  args: Args;
  kwargs: Kwargs;
  /** The RESULT's details (empty in a procedure's return value). */
  details: Details;
}

/**
 * A WAMP error. A failed request rejects with one (errors that are not
 * WAMP errors, such as "not connected", reject with a plain Error); a
 * procedure throws one to answer with that URI and arguments. Any thrown
 * object with a string `uri` works the same; other throws answer
 * 'wamp.error.runtime_error' with [message].
 */
export class WampError extends Error {
  constructor(uri: string, args?: Args, kwargs?: Kwargs);
  uri: string;
  args: Args;
  kwargs: Kwargs;
  /**
   * Only in details.signal.reason of an interrupted procedure: the
   * INTERRUPT's mode ('kill' or 'killnowait'), '' when the session ended.
   */
  mode?: string;
}

/**
 * A procedure: called with the call's arguments and details. Its return
 * value v yields [v] (undefined yields no arguments; a Result yields its
 * args and kwargs); it may be async.
 */
export type Procedure = (args: Args, kwargs: Kwargs, details: InvocationDetails) => unknown;

/**
 * An event handler; it may be async. Events reach it in order; its value
 * is ignored, what it throws or rejects with is reported (reportError).
 */
export type EventHandler = (args: Args, kwargs: Kwargs, details: EventDetails) => void;

/** A registered procedure; session.register makes it. */
export class Registration {
  private constructor();
  readonly session: Session;
  readonly procedure: string;
  /** The router's registration ID when it was made (a reconnection registers again under a new ID; the registration stays valid). */
  readonly id: number;
  /**
   * Resolves with the router's reason ('' when it gave none) when the
   * router ends the registration itself (registration_revocation, e.g.
   * after wamp.registration.remove_callee). The registration is then gone:
   * calls get 'wamp.error.no_such_procedure' (unless another callee has
   * it), a reconnection does not register it again, and unregister()
   * rejects. Stays pending otherwise, also after unregister().
   */
  readonly revoked: Promise<string>;
  /** Called with the reason when the router revokes the registration, as revoked resolves. */
  onrevoked: ((reason: string) => void) | null;
  unregister(): Promise<void>;
}

/** A subscription to a topic; session.subscribe makes it. */
export class Subscription {
  private constructor();
  readonly session: Session;
  readonly topic: string;
  /** The router's subscription ID when it was made (a reconnection subscribes again under a new ID; the subscription stays valid). */
  readonly id: number;
  /**
   * Resolves with the router's reason ('' when it gave none) when the
   * router ends the subscription itself (subscription_revocation, e.g.
   * after wamp.subscription.remove_subscriber). No event reaches the
   * handler after it, a reconnection does not subscribe again, and
   * unsubscribe() rejects. Stays pending otherwise, also after
   * unsubscribe().
   */
  readonly revoked: Promise<string>;
  /** Called with the reason when the router revokes the subscription, as revoked resolves. */
  onrevoked: ((reason: string) => void) | null;
  unsubscribe(): Promise<void>;
}

/**
 * A call whose caller streams its arguments in parts (progressive call
 * invocations); session.callStream makes it. Each send() sends one part,
 * close() the last one; the callee gets the first part as its arguments
 * and reads the others with details.next(). Nothing is sent before the
 * first part. Parts go in the order send() and close() were called; one
 * may send without awaiting the one before.
 *
 *   const stream = session.callStream('com.example.sum');
 *   await stream.send([1]);
 *   await stream.send([2]);
 *   const r = await stream.close([3]); // r.args[0] === 6, say
 */
export class CallStream {
  private constructor();
  /** The procedure called. */
  readonly procedure: string;
  /**
   * The call's outcome, as close() returns it: the callee's final result,
   * or a rejection (a WampError when the callee or the router answered
   * ERROR; options.signal's reason on abort). It settles only after
   * close(), or at once when the call cannot start (the router does not
   * announce progressive_call_invocations, the session is closed) or is
   * aborted.
   */
  readonly result: Promise<Result>;
  /**
   * Sends a part of the arguments; resolves once it is sent. Rejects
   * after close() or an abort, with the call's error when the callee has
   * answered already (an ERROR), and with an Error ("the call was
   * answered before its last part") when it returned its result early.
   */
  send(args?: Args | null, kwargs?: Kwargs | null): Promise<void>;
  /**
   * Sends the last part of the arguments and returns result. When the
   * callee has answered already, nothing is sent and result tells that
   * answer. A second close() rejects.
   */
  close(args?: Args | null, kwargs?: Kwargs | null): Promise<Result>;
}

/** A session joined to a realm; connect makes it. */
export class Session {
  private constructor();
  /** The session ID the router assigned (of the current or last WAMP session). */
  readonly id: number;
  /** WELCOME's details: authid, authrole, authmethod, roles, ... */
  readonly details: Details;
  /** The transport of the current or last WAMP session. */
  readonly transport: 'websocket' | 'longpoll';
  /** Whether the session is joined now (false while it reconnects and after it closed). */
  readonly isOpen: boolean;

  /**
   * Calls a procedure; rejects with a WampError when the callee or the
   * router answers ERROR, with options.signal's reason when it is aborted.
   */
  call(procedure: string, args?: Args | null, kwargs?: Kwargs | null, options?: CallOptions | null): Promise<Result>;
  /**
   * Starts a call whose arguments are streamed with the returned
   * CallStream's send() and close(). options are those of call: WAMP
   * options (timeout, disclose_me, ...), onProgress for progressive
   * results, signal (aborting it cancels the call, also while parts are
   * still to come) and cancelMode. Throws a TypeError for a bad option.
   */
  callStream(procedure: string, options?: CallOptions | null): CallStream;
  /** Registers a procedure. */
  register(procedure: string, handler: Procedure, options?: RegisterOptions | null): Promise<Registration>;
  unregister(registration: Registration): Promise<void>;
  /** Subscribes to a topic. */
  subscribe(topic: string, handler: EventHandler, options?: SubscribeOptions | null): Promise<Subscription>;
  unsubscribe(subscription: Subscription): Promise<void>;
  /** Publishes; resolves once sent, or once confirmed with { acknowledge: true }. */
  publish(topic: string, args?: Args | null, kwargs?: Kwargs | null, options?: PublishOptions | null): Promise<void>;
  /**
   * Leaves the realm and closes the session for good (onclose('closed', ...)).
   * reason is GOODBYE's, default 'wamp.close.close_realm'; 'wamp.close.logout'
   * also makes the router forget the browser's login cookie and end the
   * browser's other sessions on the realm.
   */
  leave(reason?: string): Promise<void>;
}

/**
 * Loads wamp.wasm (once per page), connects and joins a realm. Resolves
 * after the first join; rejects with a WampError when the router refuses
 * it (ABORT: 'wamp.error.no_such_realm', ...), with an Error when no
 * transport could be opened.
 */
export function connect(options: ConnectOptions): Promise<Session>;
