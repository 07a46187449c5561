package wamp

// ID identifies a session, a request, a publication, a subscription or a
// registration. The specification limits IDs to [0, 2^53] so that they
// survive a trip through a JavaScript number.
type ID uint64

// MaxID is the largest ID the specification allows: 2^53.
const MaxID ID = 1 << 53

// URI names a realm, topic, procedure or error, for example
// "com.example.add".
type URI string

// Dict is a WAMP dictionary: options, details, keyword arguments.
type Dict = map[string]any

// List is a WAMP list: positional arguments.
type List = []any

// MaxMessageSizeKey is the WELCOME.Details key in which a wampkit router
// announces the largest message, in bytes, that it accepts from the
// session. It is implementation-specific (the specification's "_"
// prefix): other peers ignore it.
const MaxMessageSizeKey = "_max_message_size"
