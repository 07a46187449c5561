// The Go client as a publisher with black- and whitelists, a meta API user
// and a session killer, against Autobahn|JS and wampy sessions with authids
// and authroles of their own.
//
// The Go test runs this script on a realm of its own, with ticket users
// ann, bob and eve (authrole staff) and cid and dan (guest), and anonymous
// sessions. The script joins seven sessions, each subscribed to
// com.example.admin.news, prints what each joined as (SESSIONS, a JSON
// object) and the subscription ID (SUBSCRIPTION), and READY. The Go test
// checks them against the meta API, publishes numbered events with
// exclude, eligible and the authid and authrole lists, then "end"; the
// script checks which events each session got and prints EVENTS. The Go
// test then ends the sessions with wamp.session.kill, kill_by_authid,
// kill_by_authrole and kill_all, each with a reason and a message of its
// own, which the script checks each session saw.

import assert from 'node:assert/strict';
import { connect, connectWampy, Inbox, main, same, signal } from './lib.mjs';

const topic = 'com.example.admin.news';
const ticket = (authid) => ({ authid, ticket: `${authid}-ticket` });

main('go_admin', async () => {
  // name: [library, login]
  const plan = {
    ann: ['autobahn', ticket('ann')],
    bob: ['wampy', ticket('bob')],
    bob2: ['autobahn', ticket('bob')], // the same user again
    cid: ['wampy', ticket('cid')],
    dan: ['autobahn', ticket('dan')],
    eve: ['autobahn', ticket('eve')],
    anon: ['wampy', null],
  };
  const peers = {};
  const inbox = {};
  const joined = {};
  const subscriptions = new Set();
  for (const [name, [lib, login]] of Object.entries(plan)) {
    inbox[name] = new Inbox(`${name}: events on ${topic}`);
    if (lib === 'autobahn') {
      const p = await connect(name, undefined, login);
      const sub = await p.session.subscribe(topic, (args) => inbox[name].push(args[0]));
      subscriptions.add(sub.id);
      joined[name] = { id: p.session.id, authid: p.details.authid, authrole: p.details.authrole, authmethod: p.details.authmethod };
      peers[name] = p;
    } else {
      const p = await connectWampy(name, undefined, login);
      const sub = await p.subscribe(topic, ({ argsList }) => inbox[name].push(argsList[0]));
      subscriptions.add(Number(sub.subscriptionId));
      joined[name] = { id: p.id, authid: p.details.authid, authrole: p.details.authrole, authmethod: p.details.authmethod };
      peers[name] = p;
    }
  }
  for (const [name, [, login]] of Object.entries(plan)) {
    const want = login ? [login.authid, name === 'cid' || name === 'dan' ? 'guest' : 'staff', 'ticket'] : [joined.anon.authid, 'anonymous', 'anonymous'];
    same([joined[name].authid, joined[name].authrole, joined[name].authmethod], want, `${name}: WELCOME authid, authrole and authmethod`);
  }
  assert.ok(typeof joined.anon.authid === 'string' && !['ann', 'bob', 'cid', 'dan', 'eve', ''].includes(joined.anon.authid), `anon: an authid of its own: ${joined.anon.authid}`);
  assert.equal(subscriptions.size, 1, `one subscription for all seven subscribers: ${[...subscriptions]}`);
  signal(`SESSIONS ${JSON.stringify(joined)}`);
  signal(`SUBSCRIPTION ${[...subscriptions][0]}`);
  signal('READY');

  // The events each session received before "end", which all get.
  const got = {};
  for (const name of Object.keys(plan)) {
    got[name] = [];
    for (let n = await inbox[name].next(10000); n !== 'end'; n = await inbox[name].next()) got[name].push(n);
  }
  same(got, {
    ann: [1, 2, 3, 5, 7, 8, 9],
    bob: [4, 5, 7],
    bob2: [1, 4, 5],
    cid: [1, 2, 3, 4, 6, 9],
    dan: [3, 6],
    eve: [1, 3, 5, 7],
    anon: [1, 3, 5, 6],
  }, 'events from the Go publisher with exclude, eligible and the authid and authrole lists');

  // Every session is ended by the router, with the reason and message of
  // the kill procedure that ended it.
  const closes = Object.fromEntries(Object.entries(peers).map(([name, p]) => [name, p.expectClose()]));
  signal('EVENTS');
  const want = {
    ann: ['com.example.admin.kill', 'ann alone'],
    bob: ['com.example.admin.kill_by_authid', 'all of bob'],
    bob2: ['com.example.admin.kill_by_authid', 'all of bob'],
    cid: ['com.example.admin.kill_by_authrole', 'the guests'],
    dan: ['com.example.admin.kill_by_authrole', 'the guests'],
    eve: ['com.example.admin.kill_all', 'everyone else'],
    anon: ['com.example.admin.kill_all', 'everyone else'],
  };
  for (const [name, [reason, message]] of Object.entries(want)) {
    const c = await closes[name];
    same([c.reason, c.message], [reason, message], `${name}: GOODBYE from the router`);
  }
});
