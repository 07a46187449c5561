//go:build !nocbor

package codec

// All lists the codecs in order of preference.
var All = []Codec{JSON, MessagePack, CBOR}
