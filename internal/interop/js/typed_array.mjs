// Binary values given as plain Uint8Arrays (what browser code has, rather
// than Node.js Buffers), sent to com.example.go.echo, which the Go test
// registered, and back.
//
// Each serializer encodes them its own way: msgpack5 as bin like a Buffer,
// the JSON replacer of lib.mjs as "\u0000"+base64, node-cbor (CBOR) as a
// byte string inside tag 64 (RFC 8746, "uint8 typed array").

import { connect, isBinary, main, same } from './lib.mjs';

main('typed_array', async () => {
  const peer = await connect('typed_array');
  const a = new Uint8Array([0, 1, 2, 0xfd, 0xfe, 0xff]);
  const k = new Uint8Array([0x42]);
  const res = await peer.session.call('com.example.go.echo', [a, 'x'], { blob: k, list: [k] });
  isBinary(res.args[0], a, 'echo args[0]');
  same(res.args, [a, 'x'], 'echo args');
  same(res.kwargs, { blob: k, list: [k] }, 'echo kwargs');
  await peer.close();
});
