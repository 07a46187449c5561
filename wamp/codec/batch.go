package codec

import (
	"bytes"
	"encoding/binary"
)

// batchSeparator ends each JSON message of a batch: the ASCII record
// separator, which valid JSON text never holds outside a string and always
// escapes inside one.
const batchSeparator = 0x1E

// AppendBatch appends one encoded message of codec c to the batch dst and
// returns the result. This is the framing of the batched WebSocket
// subprotocols ("wamp.2.json.batched" ...) and of long-poll bodies: a JSON
// message followed by the byte 0x1E; a binary message preceded by its
// length as 4 bytes, big-endian. A binary message must be shorter than
// 4 GiB, which every transport's message size limit ensures.
func AppendBatch(dst []byte, c Codec, encoded []byte) []byte {
	if !c.Binary() {
		dst = append(dst, encoded...)
		return append(dst, batchSeparator)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(encoded)))
	return append(dst, encoded...)
}

// BatchFraming is how many octets AppendBatch adds to a message of codec
// c: the JSON terminator, or a binary message's length.
func BatchFraming(c Codec) int {
	if !c.Binary() {
		return 1
	}
	return 4
}

// SplitBatch splits a batch that AppendBatch built into its encoded
// messages, which alias data. No message at all is an empty batch. A JSON
// message without its 0x1E terminator, a binary length beyond the data
// that remains, or an empty message is an error that wraps
// wamp.ErrInvalidMessage.
func SplitBatch(c Codec, data []byte) ([][]byte, error) {
	var msgs [][]byte
	if !c.Binary() {
		for len(data) > 0 {
			i := bytes.IndexByte(data, batchSeparator)
			if i < 0 {
				return nil, malformed("batch", "last message has no 0x1E terminator")
			}
			if i == 0 {
				return nil, malformed("batch", "empty message")
			}
			msgs = append(msgs, data[:i:i])
			data = data[i+1:]
		}
		return msgs, nil
	}
	for len(data) > 0 {
		if len(data) < 4 {
			return nil, malformed("batch", "%d bytes left, too few for a length", len(data))
		}
		n := uint64(binary.BigEndian.Uint32(data))
		data = data[4:]
		if n > uint64(len(data)) {
			return nil, malformed("batch", "length %d exceeds the %d bytes left", n, len(data))
		}
		if n == 0 {
			return nil, malformed("batch", "empty message")
		}
		msgs = append(msgs, data[:n:n])
		data = data[n:]
	}
	return msgs, nil
}
