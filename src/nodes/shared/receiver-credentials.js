// Shared by every receiver; spliced into registerType's `credentials: { … }`. The runtime
// declares the same two in src/nodes/receiver-node.ts (RECEIVER_CREDENTIALS).
key: {type: "password"},
piiKey: {type: "password"}
