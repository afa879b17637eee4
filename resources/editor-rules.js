// The editor's validators, one for every node property, from rules the build reads off the
// runtime's zod schemas (src/lib/editor/rules.ts, src/lib/editor/nodes.ts) and writes into each
// editor file's defaults as `validate: window.healthBridge.editorRules.validator({…})`. A rule
// speaks of values as the editor stores them: text from inputs, "" for an empty field, a boolean
// from a checkbox, anything in a flow written by hand. test/unit/editor-rules.test.ts runs every
// node's built editor and its schema over generated values. Node-RED serves this file from the
// package's resources/ folder; the editor files load it with <script src="resources/<module>/…">.
// Loaded once per editor file: it must only define, never act.
(function () {
    // ${NAME}: Node-RED puts the variable in when the flow starts; what it holds is checked then.
    var envReference = /^\$\{(\S+)\}$/;

    var ipv4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
    // as Node's net.isIP: hex digits, colons and dots (an embedded IPv4), then an optional zone
    // (%eth0); the URL parser judges the address itself. Without the character check a text such
    // as "@A#:" would pass, its "@" and "#" read as a URL's user and fragment.
    var isIpv6 = function (text) {
        var parts = /^([0-9a-fA-F:.]+)(?:%[0-9a-zA-Z.:-]+)?$/.exec(text);
        if (!parts || parts[1].indexOf(":") === -1) {
            return false;
        }
        try {
            new URL("http://[" + parts[1] + "]/");
            return true;
        } catch (err) {
            return false;
        }
    };

    // What no rule can say (a refinement or a transform of the schema that may refuse), once each:
    // true, or false / an object of parameters for the message. Each mirrors its runtime check.
    var checks = {
        // src/lib/time.ts isValidTimeZone
        timeZone: function (text) {
            try {
                new Intl.DateTimeFormat("en-US", {timeZone: text});
                return true;
            } catch (err) {
                return false;
            }
        },
        // src/lib/allow-list.ts parseAllowList: addresses and CIDR ranges, by comma or space
        allowList: function (text) {
            var entries = text.split(/[,\s]+/).filter(function (entry) { return entry !== ""; });
            for (var i = 0; i < entries.length; i++) {
                var parts = entries[i].split("/");
                var isV4 = ipv4.test(parts[0]);
                var prefixOk = parts.length === 1 ||
                    (/^\d+$/.test(parts[1]) && Number(parts[1]) <= (isV4 ? 32 : 128));
                if (!(isV4 || isIpv6(parts[0])) || !prefixOk) {
                    return {entry: entries[i]};
                }
            }
            return true;
        },
        // an http(s) URL (viatom-account's host)
        httpUrl: function (text) {
            if (!/^https?:\/\//i.test(text)) {
                return false;
            }
            try {
                new URL(text);
                return true;
            } catch (err) {
                return false;
            }
        },
        // an http(s) address with a host (expeed-account's apiBase)
        httpBase: function (text) {
            return /^https?:\/\/[^\/?#]+/i.test(text);
        },
        // health-watch's rule table, row by row (src/lib/watch/rules.ts ruleRowSchema)
        watchRules: function (rows) {
            var text = function (value) { return value === undefined || value === null ? "" : String(value).trim(); };
            var threshold = function (value) { return text(value) === "" ? null : isFinite(Number(value)) ? Number(value) : NaN; };
            for (var i = 0; i < rows.length; i++) {
                var row = rows[i] || {};
                var name = text(row.name);
                var below = threshold(row.below);
                var above = threshold(row.above);
                var ok = /^[\w.-]{1,64}$/.test(name) && name !== "silent" && text(row.kind) !== "" && text(row.value) !== "" &&
                    !(below !== below) && !(above !== above) && (below !== null || above !== null) &&
                    ["", "info", "warning", "urgent"].indexOf(text(row.severity)) !== -1;
                if (!ok) {
                    return {row: i + 1};
                }
            }
            return rows.length <= 200;
        }
    };

    var isBlankText = function (value) {
        return typeof value === "string" && value.trim() === "";
    };

    var kinds = {
        number: function (rule, value) {
            var n = Number(value);
            if (!isFinite(n) || (rule.int && !Number.isSafeInteger(n))) {
                return false;
            }
            if (rule.min !== undefined && (rule.minExclusive ? n <= rule.min : n < rule.min)) {
                return false;
            }
            if (rule.max !== undefined && (rule.maxExclusive ? n >= rule.max : n > rule.max)) {
                return false;
            }
            return !rule.values || rule.values.indexOf(n) !== -1;
        },
        choice: function (rule, value) {
            return rule.values.indexOf(rule.trim && typeof value === "string" ? value.trim() : value) !== -1;
        },
        text: function (rule, value) {
            if (typeof value !== "string") {
                return false;
            }
            var text = rule.trim ? value.trim() : value;
            var length = Array.from(text).length;
            if ((rule.minLength !== undefined && length < rule.minLength) || (rule.maxLength !== undefined && length > rule.maxLength)) {
                return false;
            }
            return (rule.patterns || []).every(function (pattern) {
                return new RegExp(pattern[0], pattern[1]).test(text);
            });
        },
        // a checkbox; a flow written by hand may say "true" or "false"
        flag: function (rule, value) {
            return value === true || value === false || value === "true" || value === "false";
        },
        // the rows of an editable list; each row is the named check's
        table: function (rule, value) {
            return Array.isArray(value);
        }
    };

    var editorRules = {
        checks: checks,

        /** true, or false / the parameters of the message when the runtime would refuse `value`. */
        accepts: function (rule, value) {
            if (rule.env && typeof value === "string" && envReference.test(value.trim())) {
                return true;
            }
            if (value === undefined || value === null) {
                return rule.missing;
            }
            if (value === "") {
                return rule.empty;
            }
            if (isBlankText(value)) {
                return rule.spaces;
            }
            if (!kinds[rule.kind](rule, value)) {
                return false;
            }
            if (rule.check) {
                return checks[rule.check](rule.trim ? value.trim() : value);
            }
            return true;
        },

        /**
         * Whether a number is not below another property's (rule.notBelow: its name and both
         * defaults, which a blank stands for): that one is read from the open dialog, else saved.
         * An invalid other value is marked on its own field, not here.
         */
        notBelow: function (node, rule, value) {
            var blank = function (x) { return x === undefined || x === null || String(x).trim() === ""; };
            var input = typeof $ === "function" ? $("#node-input-" + rule.notBelow.property) : [];
            var other = input.length ? input.val() : node && node[rule.notBelow.property];
            var low = blank(other) ? rule.notBelow.otherDefault : Number(other);
            var own = blank(value) ? rule.notBelow.ownDefault : Number(value);
            return !(isFinite(low) && low > 0 && own < low);
        },

        /** A validator for Node-RED's defaults: (v, opt) so that the editor shows the returned text. */
        validator: function (rule) {
            var validate = function (value, opt) {
                var result = editorRules.accepts(rule, value);
                if (result === true && rule.notBelow && !editorRules.notBelow(this, rule, value)) {
                    result = false;
                }
                if (result === true) {
                    return true;
                }
                if (!rule.message || !this || !this._) {
                    return false;
                }
                var node = this;
                var message = typeof rule.message === "string" ? {key: rule.message, params: {}} : rule.message;
                var params = {};
                Object.keys(message.params).forEach(function (name) {
                    var param = message.params[name];
                    params[name] = typeof param === "string" ? param : node._(param.t);
                });
                Object.keys(result || {}).forEach(function (name) {
                    params[name] = result[name];
                });
                return node._(message.key, params);
            };
            validate.rule = rule;
            return validate;
        }
    };

    window.healthBridge = window.healthBridge || {};
    window.healthBridge.editorRules = editorRules;
})();
