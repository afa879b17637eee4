// For a receiver whose vendor keeps settings in a config node (expeed-in: the URL token that
// answers the platform's URL check); spliced into registerType's `defaults: { … }` only when
// receiver-node.html is included with account=<config type>. Required: without it the vendor's
// URL check fails and the platform will not take the callback URL.
account: {value: "", type: "{{account}}", required: true},
