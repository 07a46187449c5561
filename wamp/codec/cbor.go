//go:build !nocbor

package codec

import (
	"bytes"
	"math/big"

	"github.com/fxamacker/cbor/v2"

	"github.com/wampkit/wampkit/wamp"
)

// CBOR is the "cbor" serializer (subprotocol wamp.2.cbor). Byte strings
// and []byte map to each other, text strings to string, maps to wamp.Dict.
// Decoding yields the closed set of package wamp: integers become int64
// (uint64 above math.MaxInt64; below math.MinInt64 is an error), floats of
// every width float64, undefined nil. Non-string map keys, duplicate keys,
// invalid UTF-8, tags (bignums and times included) and simple values other
// than false, true, null and undefined are errors.
var CBOR Codec = cborCodec{}

type cborCodec struct{}

func (cborCodec) Name() string { return "cbor" }
func (cborCodec) Binary() bool { return true }

// cborDecMode and cborEncMode are built once from constant options, which
// the library accepts, so building them cannot fail.
var (
	cborDecMode = must(cbor.DecOptions{
		DupMapKey: cbor.DupMapKeyEnforcedAPF,
		// The library counts nesting like MaxDepth does; a tag would
		// count too, but tags are forbidden.
		MaxNestedLevels: MaxDepth,
		// Lengths are checked against the input before anything is
		// allocated, so the input's size bounds them: no other limit.
		MaxArrayElements: 1<<31 - 1,
		MaxMapPairs:      1<<31 - 1,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsAllowed,
		BignumTag:        cbor.BignumTagForbidden,
		IntDec:           cbor.IntDecConvertSignedOrBigInt,
		BigIntDec:        cbor.BigIntDecodePointer,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode())
	cborEncMode = must(cbor.EncOptions{
		Sort:          cbor.SortNone,
		ShortestFloat: cbor.ShortestFloatNone,
		NilContainers: cbor.NilContainerAsEmpty,
		IndefLength:   cbor.IndefLengthForbidden,
		TagsMd:        cbor.TagsForbidden,
	}.UserBufferEncMode())
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (cborCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	l, err := toList("cbor", m)
	if err != nil {
		return dst, err
	}
	if err := checkValue("cbor", l, 1); err != nil {
		return dst, err
	}
	buf := bytes.NewBuffer(dst)
	if err := cborEncMode.MarshalToBuffer(l, buf); err != nil {
		return dst, unsupported("cbor", "%v", err)
	}
	return buf.Bytes(), nil
}

func (c cborCodec) Decode(data []byte) (wamp.Message, error) {
	l, err := c.decodeList(data)
	if err != nil {
		return nil, err
	}
	return wamp.FromList(l)
}

// decodeList decodes the list form of a message.
func (cborCodec) decodeList(data []byte) (wamp.List, error) {
	if len(data) == 0 {
		return nil, malformed("cbor", "empty input")
	}
	if data[0]>>5 != 4 { // major type 4: array
		return nil, malformed("cbor", "message is not a list")
	}
	var v any
	if err := cborDecMode.Unmarshal(data, &v); err != nil {
		return nil, malformedErr("cbor", err)
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, malformed("cbor", "message is not a list")
	}
	if err := normalizeCBORList(l); err != nil {
		return nil, err
	}
	return l, nil
}

// normalizeCBOR returns v, as the library decoded it, in the closed set:
// it turns big integers that fit uint64 into uint64, copies each
// map[any]any into a wamp.Dict if every key is a string, and rejects
// anything else that the closed set lacks. (Told to decode maps as
// map[string]any, the library would turn a null key into "" silently.)
func normalizeCBOR(v any) (any, error) {
	switch v := v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return v, nil
	case wamp.List:
		return v, normalizeCBORList(v)
	case map[any]any:
		m := make(wamp.Dict, len(v))
		for k, e := range v {
			ks, ok := k.(string)
			if !ok {
				return nil, malformed("cbor", "dict key of type %T", k)
			}
			n, err := normalizeCBOR(e)
			if err != nil {
				return nil, err
			}
			m[ks] = n
		}
		return m, nil
	case *big.Int:
		if v.Sign() < 0 || !v.IsUint64() {
			return nil, malformed("cbor", "integer %s is out of range", v)
		}
		return v.Uint64(), nil
	case cbor.Tag:
		// RFC 8746 tag 64, a uint8 typed array: node-cbor, and so
		// Autobahn|JS's CBOR serializer, sends a Uint8Array this way.
		if b, ok := v.Content.([]byte); ok && v.Number == 64 {
			return b, nil
		}
		return nil, malformed("cbor", "tag %d is not supported", v.Number)
	case cbor.SimpleValue:
		return nil, malformed("cbor", "simple value %d is not supported", v)
	}
	return nil, malformed("cbor", "unexpected %T", v)
}

func normalizeCBORList(l wamp.List) error {
	for i, e := range l {
		n, err := normalizeCBOR(e)
		if err != nil {
			return err
		}
		l[i] = n
	}
	return nil
}
