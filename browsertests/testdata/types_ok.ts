// The whole public API of the browser client, used as README.md ("The
// browser client", "Authentication in the browser") and js/wamp.d.ts
// document it. types_test.go:TestTypeDefinitions compiles it with
// `tsc --strict --noEmit`: it must compile cleanly. It is never run.
//
// A page imports '/wamp.js' (with /wamp.d.ts beside it); here the relative
// path resolves to js/wamp.d.ts.
import {
  connect,
  Result,
  WampError,
  Session,
  Registration,
  Subscription,
  CallStream,
  type Args,
  type Kwargs,
  type Details,
  type Value,
  type CloseReason,
  type ConnectOptions,
  type CallOptions,
  type PublishOptions,
  type RegisterOptions,
  type SubscribeOptions,
  type RequestOptions,
  type InvocationDetails,
  type EventDetails,
  type Part,
  type Procedure,
  type EventHandler,
} from '../../js/wamp.js';

// --- connect, with every option ---

const closes: Array<{ reason: CloseReason; willRetry: boolean; message?: string }> = [];

const options: ConnectOptions = {
  realm: 'realm1',
  url: 'wss://example.com/ws',
  longpollUrl: 'https://example.com/lp',
  transports: ['websocket', 'longpoll'],
  serializer: 'msgpack',
  retry: true,
  authid: 'alice',
  authmethods: ['cookie', 'ticket', 'wampcra', 'cryptosign', 'scram'],
  authextra: { device: 'phone', build: 7, tags: ['a', 'b'] },
  ticket: 'alice-ticket',
  secret: 'alice-password',
  privateKey: '4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510',
  // A method the credentials do not serve: the page answers it itself.
  onchallenge: async (method: string, extra: Details) => {
    const challenge: Value = extra.challenge;
    if (method === 'scram' && typeof challenge === 'string') {
      return [challenge.toUpperCase(), { nonce: 'n0' }];
    }
    return `${method}-signature`;
  },
  onopen: (s: Session) => {
    const id: number = s.id;
    const transport: 'websocket' | 'longpoll' = s.transport;
    const open: boolean = s.isOpen;
    const authrole: Value = s.details.authrole;
    console.log('joined', id, transport, open, authrole);
  },
  onclose: (reason, { willRetry, message }) => {
    closes.push(message === undefined ? { reason, willRetry } : { reason, willRetry, message });
    if (reason === 'closed' || reason === 'lost' || reason === 'unreachable') return;
    if (reason === 'wamp.close.system_shutdown') console.log('router shut down');
  },
  wasmUrl: '/static/wamp.wasm',
};
const session: Session = await connect(options);

// The other forms of the options: defaults, long-poll only, JSON and CBOR,
// a synchronous onchallenge, a Uint8Array seed.
await connect({ realm: 'realm1' });
await connect({ realm: 'realm1', transports: ['longpoll'], serializer: 'json', retry: false });
await connect({
  realm: 'realm1',
  serializer: 'cbor',
  authid: 'bob',
  authmethods: ['ticket'],
  onchallenge: (method) => `${method}-ticket`,
});
await connect({ realm: 'realm1', authid: 'carol', onchallenge: () => ['sig', {}] as [string, Kwargs] });
await connect({ realm: 'realm1', privateKey: new Uint8Array(32) });
await connect({ realm: 'realm1', onchallenge: () => Promise.resolve('sig') });

// README: "After the first login, a reload comes back by cookie".
const login = () => connect({ realm: 'realm1', authmethods: ['cookie'], retry: false })
  .catch(() => connect({ realm: 'realm1', authid: 'alice', ticket: 'alice-ticket' }));
const { authid, authmethod } = (await login()).details;
console.log(authid, authmethod);

// --- register: a synchronous and an async procedure ---

const add: Registration = await session.register('com.example.add', (args) => Number(args[0]) + Number(args[1]));

await session.register('com.example.greet', async (args, kwargs, details) =>
  new Result([`hello ${kwargs.name}`], { caller: details.caller }), { disclose_caller: true });

const sumOptions: RegisterOptions = { match: 'prefix', invoke: 'roundrobin', disclose_caller: true, x_custom: 1 };
const sum: Registration = await session.register('com.example.sum.', async (args, kwargs, details: InvocationDetails) => {
  const procedure: string = details.procedure;
  const caller: number | undefined = details.caller;
  const callerAuthid: string | undefined = details.caller_authid;
  const callerAuthrole: string | undefined = details.caller_authrole;
  const wantsProgress: boolean | undefined = details.receive_progress;
  const timeout: number | undefined = details.timeout;
  const signal: AbortSignal = details.signal;
  signal.addEventListener('abort', () => {
    const reason: unknown = signal.reason;
    if (reason instanceof WampError) console.log(reason.uri, reason.mode);
  });
  let total = 0;
  for (const v of args) total += Number(v);
  // The caller streams its arguments: the first part is args, next() reads the others.
  if (details.next) {
    for (let part: Part | null = await details.next(); part !== null; part = await details.next()) {
      for (const v of part.args) total += Number(v);
      const unit: Value | undefined = part.kwargs.unit;
      if (part.final) console.log('last part', unit);
    }
  }
  details.progress?.([total]);
  details.progress?.([total], { partial: true });
  details.progress?.();
  if (signal.aborted) throw new WampError('com.example.error.gone', ['interrupted'], { total });
  if (total < 0) throw { uri: 'com.example.error.negative', args: [total] };
  console.log(callerAuthid, callerAuthrole, wantsProgress, timeout);
  return new Result([total], { procedure, caller: caller ?? null });
}, sumOptions);

await session.register('com.example.count', async (args, _kwargs, details) => {
  for (let i = 1; i < Number(args[0]); i++) details.progress?.([i]);
  return args[0];
});
await session.register('com.example.nothing', () => undefined, null);
await session.register('com.example.binary', () => new Uint8Array([1, 2, 3]));

const echo: Procedure = (args, kwargs) => new Result(args, kwargs);
const echoReg = await session.register('com.example.echo', echo, { match: 'wildcard', invoke: 'last' });

// --- call, with every option ---

const r: Result = await session.call('com.example.add', [2, 3]);
const five: Value = r.args[0];
const rk: Kwargs = r.kwargs;
const rd: Details = r.details;
console.log(five, rk, rd);

const hi = await session.call('com.example.greet', [], { name: 'Ada' });
console.log(hi.args[0]);

await session.call('com.example.echo', [null, true, 1.5, 2n ** 60n, 'text', new Uint8Array([0]), new ArrayBuffer(2), new DataView(new ArrayBuffer(1)), [1, [2]], { a: { b: undefined } }], { bin: new Uint16Array([1]) });
await session.call('com.example.echo', null, null, null);
await session.call('com.example.echo', undefined, undefined, { x_custom: 'passed to the router' });

const parts: Value[] = [];
const controller = new AbortController();
const callOptions: CallOptions = {
  timeout: 5000,
  disclose_me: true,
  onProgress: (part: Result) => parts.push(part.args[0]),
  signal: controller.signal,
  cancelMode: 'kill',
};
const last = await session.call('com.example.count', [3], {}, callOptions);
console.log(parts, last.args[0], last.details.progress);

await session.call('com.example.slow', [], {}, { signal: AbortSignal.timeout(100), cancelMode: 'skip' });
await session.call('com.example.slow', [], {}, { cancelMode: 'killnowait', onProgress: (p) => console.log(p.details) });
controller.abort();

try {
  await session.call('com.example.nope');
} catch (e) {
  if (e instanceof WampError) {
    const uri: string = e.uri;
    const args: Args = e.args;
    const kwargs: Kwargs = e.kwargs;
    const message: string = e.message;
    const name: string = e.name;
    console.log(uri, args, kwargs, message, name);
  } else if (e instanceof Error) {
    console.log('not a WAMP error:', e.message); // "not connected", an abort's reason
  }
}

// --- callStream: send, close, result ---

const stream: CallStream = session.callStream('com.example.sum.all', {
  timeout: 10000,
  onProgress: (p) => parts.push(p.args[0]),
  signal: AbortSignal.timeout(10000),
  cancelMode: 'killnowait',
});
const streamed: string = stream.procedure;
const sending: Promise<void> = stream.send([1]);
await stream.send([2], { unit: 'm' });
await stream.send(null, null);
await stream.send();
await sending;
const total: Result = await stream.close([3]);
const same: Result = await stream.result;
console.log(streamed, total.args[0], same === total);
await session.callStream('com.example.sum.none').close();
session.callStream('com.example.sum.none', null).result.catch((e: unknown) => console.log(e));

// --- subscribe and publish ---

const got: Args[] = [];
const newsOptions: SubscribeOptions = { match: 'prefix', get_retained: true };
const news: Subscription = await session.subscribe('com.example.', (args, kwargs, details) => {
  const topic: string = details.topic;
  const publisher: number | undefined = details.publisher;
  const publisherAuthid: string | undefined = details.publisher_authid;
  const publisherAuthrole: string | undefined = details.publisher_authrole;
  const retained: boolean | undefined = details.retained;
  console.log(topic, publisher, publisherAuthid, publisherAuthrole, retained, kwargs);
  got.push(args);
}, newsOptions);
// README: a handler whose value is ignored.
await session.subscribe('com.example.news', (args, kwargs, details) => got.push(args));
const onEvent: EventHandler = async (args: Args, kwargs: Kwargs, details: EventDetails) => {
  await Promise.resolve(details.topic);
};
const other = await session.subscribe('com.example.other', onEvent, null);

await session.publish('com.example.news', ['hi', new Uint8Array([1, 2])], {}, { acknowledge: true, exclude_me: false });
const publishOptions: PublishOptions = {
  acknowledge: true,
  exclude_me: true,
  disclose_me: true,
  retain: true,
  exclude: [1],
  eligible: [2, 3],
  exclude_authid: ['mallory'],
  eligible_authid: ['alice'],
  exclude_authrole: ['guest'],
  eligible_authrole: ['user'],
  x_custom: [1, 'two'],
};
await session.publish('com.example.news', ['hi'], { lang: 'en' }, publishOptions);
await session.publish('com.example.ping');
const requestOptions: RequestOptions = { x_custom: true };
await session.publish('com.example.ping', null, null, requestOptions);

// --- revocation ---

const regOwner: Session = sum.session;
const regProcedure: string = sum.procedure;
const regId: number = sum.id;
sum.onrevoked = (reason: string) => console.log('revoked', reason, regOwner === session, regProcedure, regId);
const regRevoked: Promise<string> = sum.revoked;
regRevoked.then((reason) => console.log(reason.length));
sum.onrevoked = null;

const subOwner: Session = news.session;
const subTopic: string = news.topic;
const subId: number = news.id;
news.onrevoked = (reason) => console.log('revoked', reason, subOwner, subTopic, subId);
const reason: string = await news.revoked;
console.log(reason);

// --- unregister, unsubscribe, leave ---

await add.unregister();
await session.unregister(sum);
await echoReg.unregister();
await news.unsubscribe();
await session.unsubscribe(other);
await session.leave();
await session.leave('wamp.close.logout');

// Result and WampError made by the page.
const results: Result[] = [new Result(), new Result([1]), new Result([1], { a: 2 }), new Result([], {}, { progress: true })];
const errors: WampError[] = [new WampError('com.example.error'), new WampError('com.example.error', ['why'], { code: 4 })];
const asError: Error = errors[0];
console.log(results, asError instanceof WampError, closes);
