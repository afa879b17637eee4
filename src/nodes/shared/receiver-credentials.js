// Shared by every receiver; spliced into registerType's `credentials: { … }`. The runtime
// declares the same two in src/nodes/receiver-node.ts (RECEIVER_CREDENTIALS). `key` is text so
// that the dialog can show the callback URL with it again after a deploy or a reload; it has no
// default value here: each new receiver gets a key of its own when it is added (onadd).
key: {type: "text"},
piiKey: {type: "password"}
