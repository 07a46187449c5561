// Package interop holds the interoperability tests of wampkit against other
// WAMP implementations run in Node.js: Autobahn|JS 26 and wampy 8, basic and
// advanced profile.
// The tests start the router in-process and run the scenario scripts in js/
// with node; package.json pins the npm packages, and the tests run `npm ci`
// when node_modules is missing or stale. See interop_test.go.
package interop
