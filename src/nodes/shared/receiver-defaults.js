// Shared by every receiver (SPEC §2); spliced into registerType's `defaults: { … }` after the
// node's own entries. Validators take (v, opt) so that Node-RED shows the returned text. As in the
// runtime, a blank or missing value (a hand-written or older flow) means the default. The
// {{receiver.…}} values are the runtime's own (src/lib/receiver/config.ts), filled in by the build;
// test/unit/receiver-editor.test.ts checks that each validator refuses what the runtime refuses.
path: {
    value: "",
    required: true,
    validate: function (v, opt) {
        if (typeof v === "string" && /{{receiver.path}}/.test(v.trim())) {
            return true;
        }
        return this && this._ ? this._("health-bridge-receiver.validation.path") : false;
    }
},
ack: {
    value: "{{receiver.default.ack}}",
    validate: function (v, opt) {
        return v === undefined || v === "" || {{receiver.ackModes}}.indexOf(v) !== -1;
    }
},
ackTimeout: {
    value: {{receiver.default.ackTimeout}},
    validate: function (v, opt) {
        var n = Number(v);
        if (v === undefined || String(v).trim() === "" || (isFinite(n) && n > 0)) {
            return true;
        }
        return this && this._ ? this._("health-bridge-receiver.validation.positive") : false;
    }
},
maxBytes: {
    value: {{receiver.default.maxBytes}},
    validate: function (v, opt) {
        var n = Number(v);
        if (v === undefined || String(v).trim() === "" || (Number.isInteger(n) && n > 0)) {
            return true;
        }
        return this && this._ ? this._("health-bridge-receiver.validation.positive-integer") : false;
    }
},
dedupHours: {
    value: {{receiver.default.dedupHours}},
    validate: function (v, opt) {
        var n = Number(v);
        if (v === undefined || String(v).trim() === "" || (isFinite(n) && n >= 0)) {
            return true;
        }
        return this && this._ ? this._("health-bridge-receiver.validation.non-negative") : false;
    }
},
dedupStore: {value: "{{receiver.default.dedupStore}}"},
allow: {
    value: "{{receiver.default.allow}}",
    validate: function (v, opt) {
        var ipv4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
        var entries = String(v || "").split(/[,\s]+/).filter(function (entry) { return entry !== ""; });
        for (var i = 0; i < entries.length; i++) {
            var parts = entries[i].split("/");
            var isV4 = ipv4.test(parts[0]);
            var isV6 = false;
            if (!isV4 && parts[0].indexOf(":") !== -1) {
                try {
                    new URL("http://[" + parts[0] + "]/");
                    isV6 = true;
                } catch (err) {
                    isV6 = false;
                }
            }
            var prefixOk = parts.length === 1 ||
                (parts.length === 2 && /^\d{1,3}$/.test(parts[1]) && Number(parts[1]) <= (isV4 ? 32 : 128));
            if (!(isV4 || isV6) || !prefixOk) {
                return this && this._ ? this._("health-bridge-receiver.validation.allow", {entry: entries[i]}) : false;
            }
        }
        return true;
    }
},
pii: {
    value: "{{receiver.default.pii}}",
    validate: function (v, opt) {
        return v === undefined || v === "" || {{receiver.piiModes}}.indexOf(v) !== -1;
    }
},
tz: {
    value: "{{receiver.default.tz}}",
    validate: function (v, opt) {
        if (v === undefined || String(v).trim() === "") {
            return true;
        }
        try {
            new Intl.DateTimeFormat("en-US", {timeZone: String(v).trim()});
            return true;
        } catch (err) {
            return this && this._ ? this._("health-bridge-receiver.validation.tz") : false;
        }
    }
}
