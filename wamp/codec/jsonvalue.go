package codec

import "unicode/utf8"

// AppendJSONValue appends the JSON text of one value of the closed set that
// package wamp documents, with the WAMP convention for binary values
// ("\u0000" followed by base64). The browser client uses it to hand a whole
// payload to JavaScript as one string.
func AppendJSONValue(dst []byte, v any) ([]byte, error) {
	out, err := appendJSON(dst, v, 1)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// DecodeJSONValue decodes one JSON value into the closed set of types:
// integers stay exact, strings in the binary convention become []byte.
// Errors wrap wamp.ErrInvalidMessage.
func DecodeJSONValue(data []byte) (any, error) {
	d := jsonDecoders.Get().(*jsonDecoder)
	defer d.release()
	if !utf8.Valid(data) {
		return nil, malformed("json", "input is not valid UTF-8")
	}
	d.data, d.pos = data, 0
	v, err := d.value(1)
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos != len(data) {
		return nil, d.unexpected()
	}
	return v, nil
}
