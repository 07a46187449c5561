// Misuses of the browser client's API that js/wamp.d.ts must refuse.
// types_test.go:TestTypeDefinitions compiles this file with
// `tsc --strict --noEmit`: each `@ts-expect-error` line says that the next
// line is a type error, and tsc fails when one of them is not (TS2578,
// unused '@ts-expect-error' directive). The file is never run.
import { connect, Result, WampError, Session, Registration, Subscription, CallStream } from '../../js/wamp.js';

const session = await connect({ realm: 'realm1' });
const reg = await session.register('com.example.p', () => 1);
const sub = await session.subscribe('com.example.t', () => {});
const stream = session.callStream('com.example.s');

// --- connect ---

// @ts-expect-error: realm is required.
await connect({ url: 'ws://example.com/ws' });
// @ts-expect-error: realm is a string.
await connect({ realm: 1 });
// @ts-expect-error: no transport 'rawsocket' in a browser.
await connect({ realm: 'realm1', transports: ['websocket', 'rawsocket'] });
// @ts-expect-error: transports is an array.
await connect({ realm: 'realm1', transports: 'longpoll' });
// @ts-expect-error: no serializer 'xml'.
await connect({ realm: 'realm1', serializer: 'xml' });
// @ts-expect-error: retry is a boolean.
await connect({ realm: 'realm1', retry: 'yes' });
// @ts-expect-error: authmethods is an array of strings.
await connect({ realm: 'realm1', authmethods: 'ticket' });
// @ts-expect-error: privateKey is hex or a Uint8Array.
await connect({ realm: 'realm1', privateKey: 42 });
// @ts-expect-error: onchallenge returns the signature, not a number.
await connect({ realm: 'realm1', onchallenge: () => 42 });
// @ts-expect-error: the extra of [signature, extra] is an object.
await connect({ realm: 'realm1', onchallenge: async () => ['sig', 'extra'] as [string, string] });
// @ts-expect-error: onopen receives the Session, not a string.
await connect({ realm: 'realm1', onopen: (s: string) => console.log(s) });
// @ts-expect-error: onclose's details is an object.
await connect({ realm: 'realm1', onclose: (reason: string, willRetry: boolean) => console.log(reason, willRetry) });
// @ts-expect-error: an unknown option (a typo of longpollUrl).
await connect({ realm: 'realm1', longPollUrl: 'http://example.com/lp' });

// --- call and callStream ---

// @ts-expect-error: a procedure URI is a string.
await session.call(42);
// @ts-expect-error: args is an array.
await session.call('com.example.p', 'one');
// @ts-expect-error: a function is not a value that crosses the wire.
await session.call('com.example.p', [() => 1]);
// @ts-expect-error: a Date is not a Value.
await session.call('com.example.p', [], { when: new Date() });
// @ts-expect-error: no cancel mode 'abort'.
await session.call('com.example.p', [], {}, { cancelMode: 'abort' });
// @ts-expect-error: timeout is in milliseconds, a number.
await session.call('com.example.p', [], {}, { timeout: '5s' });
// @ts-expect-error: signal is an AbortSignal, not its controller.
await session.call('com.example.p', [], {}, { signal: new AbortController() });
// @ts-expect-error: onProgress is a function.
await session.call('com.example.p', [], {}, { onProgress: true });
// @ts-expect-error: a call resolves with a Result, not its arguments.
const value: number = await session.call('com.example.p');
// @ts-expect-error: callStream's procedure is a string.
session.callStream(7);
// @ts-expect-error: a part's args is an array.
await stream.send('one');
// @ts-expect-error: close resolves with the Result, not an array.
const closed: string[] = await stream.close();

// --- register and subscribe ---

// @ts-expect-error: the handler is a function.
await session.register('com.example.q', 'handler');
// @ts-expect-error: a procedure URI is a string.
await session.register(['com.example.q'], () => 1);
// @ts-expect-error: no match policy 'regex'.
await session.register('com.example.q', () => 1, { match: 'regex' });
// @ts-expect-error: no invocation policy 'broadcast'.
await session.register('com.example.q', () => 1, { invoke: 'broadcast' });
await session.register('com.example.q', (args, kwargs, details) => {
  // @ts-expect-error: details.procedure is a string.
  const procedure: number = details.procedure;
  // @ts-expect-error: next is there only when the caller streams: check it first.
  details.next();
  // @ts-expect-error: progress takes an array of arguments.
  details.progress?.(1);
  // @ts-expect-error: signal is an AbortSignal, not a boolean.
  if (details.signal === true) return procedure;
  return args[0];
});
// @ts-expect-error: details.publisher is a session ID, when disclosed.
await session.subscribe('com.example.t', (args, kwargs, details) => console.log(details.publisher.length));
await session.subscribe('com.example.t', (args, kwargs, details) => {
  // @ts-expect-error: details.topic is a string.
  const topic: number = details.topic;
  // @ts-expect-error: details.retained is a boolean, when present.
  const retained: string = details.retained;
  console.log(topic, retained);
});
// @ts-expect-error: get_retained is a boolean.
await session.subscribe('com.example.t', () => {}, { get_retained: 'yes' });
// @ts-expect-error: publish's kwargs is an object, not an array.
await session.publish('com.example.t', [], ['a']);
// @ts-expect-error: acknowledge is a boolean.
await session.publish('com.example.t', [], {}, { acknowledge: 1 });
// @ts-expect-error: exclude holds session IDs.
await session.publish('com.example.t', [], {}, { exclude: ['alice'] });
// @ts-expect-error: a Subscription is not a Registration.
await session.unregister(sub);
// @ts-expect-error: a Registration is not a Subscription.
await session.unsubscribe(reg);

// --- read-only fields, private constructors ---

// @ts-expect-error: there is no transport 'rawsocket' to compare with.
if (session.transport === 'rawsocket') console.log('never');
// @ts-expect-error: the session ID is read-only.
session.id = 7;
// @ts-expect-error: the transport is read-only.
session.transport = 'longpoll';
// @ts-expect-error: isOpen is read-only.
session.isOpen = false;
// @ts-expect-error: a registration's procedure is read-only.
reg.procedure = 'com.example.other';
// @ts-expect-error: revoked is read-only.
sub.revoked = Promise.resolve('');
// @ts-expect-error: a stream's result is read-only.
stream.result = Promise.resolve(new Result());
// @ts-expect-error: onrevoked takes the reason, a string.
reg.onrevoked = (reason: number) => console.log(reason);
// @ts-expect-error: connect makes sessions.
new Session();
// @ts-expect-error: session.register makes registrations.
new Registration();
// @ts-expect-error: session.subscribe makes subscriptions.
new Subscription();
// @ts-expect-error: session.callStream makes call streams.
new CallStream();

// --- Result, WampError, leave ---

// @ts-expect-error: a WAMP error's URI is a string.
new WampError(404);
// @ts-expect-error: a Result's args is an array.
new Result('five');
try {
  await session.call('com.example.p');
} catch (e) {
  // @ts-expect-error: a rejection is unknown until narrowed (instanceof WampError).
  console.log(e.uri);
  if (e instanceof WampError) {
    // @ts-expect-error: args is an array.
    const first: string = e.args;
    console.log(first);
  }
}
// @ts-expect-error: GOODBYE's reason is a URI string.
await session.leave(1000);
console.log(value, closed);
