package websocket

import (
	"fmt"

	"github.com/wampkit/wampkit/transport"
	"github.com/wampkit/wampkit/wamp"
)

// checkSendLimit refuses a message of size bytes above limit (none when
// limit <= 0): the other side would close the connection for it.
func checkSendLimit(m wamp.Message, size int, limit int64) error {
	if limit <= 0 || int64(size) <= limit {
		return nil
	}
	return fmt.Errorf("websocket: send: %w", &transport.SendTooBigError{Message: m, Size: size, Limit: int(limit)})
}
