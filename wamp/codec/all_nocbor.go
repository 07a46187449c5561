//go:build nocbor

package codec

// All lists the codecs in order of preference. This build leaves CBOR out
// (build tag nocbor): the CBOR library is about a sixth of a browser
// client's download, and JSON and MessagePack carry everything WAMP needs.
var All = []Codec{JSON, MessagePack}
