// What every node's registerType says the same way, said once. Node-RED serves this file from the
// package's resources/ folder; the editor files load it with <script src="resources/<module>/…">
// and call window.healthBridge.nodeEditor.registerType(type, definition). Loaded once per editor
// file: it must only define, never act.
//
// registerType adds to `definition`, where it does not say otherwise:
//   the `defaults` the build wrote for the type (shared/node-scripts.html), category "health bridge", the palette label `<type>.paletteLabel`, the label (the name, else
//   the palette label), the italic label while the node has a name, input and output labels from
//   i18n keys (`inputLabels: "inputs"`, `outputLabels: ["outputs.a", "outputs.b"]`: keys below
//   `<type>.`), and in the dialog: a select left empty by a flow written by hand shows the default
//   its validator's rule names (the runtime's default), and with `migrate: {steps, property}` an
//   old node's inputs show its migrated values (resources/config-migrate.js) and it is saved as
//   the current version; a property whose rule takes a ${NAME} reference (`env`, from
//   src/lib/editor/nodes.ts) gets the typed input of resources/env-input.js (string | env variable).
(function () {
    var keyLabels = function (type, keys) {
        return function (index) {
            var key = Array.isArray(keys) ? keys[index || 0] : keys;
            return this._(type + "." + key);
        };
    };

    var nodeEditor = {
        /** In oneditprepare: a select with no value (a flow written by hand) shows the property's default. */
        fillSelects: function (node) {
            var prefix = node._def.category === "config" ? "#node-config-input-" : "#node-input-";
            Object.keys(node._def.defaults).forEach(function (property) {
                var select = $(prefix + property);
                if (select.is("select") && !select.val()) {
                    select.val(String(node._def.defaults[property].value));
                }
            });
        },

        /** The inputs of the properties that take ${NAME} (their validator's rule says `env`). */
        envInputs: function (node) {
            var prefix = node._def.category === "config" ? "node-config-input-" : "node-input-";
            return Object.keys(node._def.defaults).filter(function (property) {
                var validate = node._def.defaults[property].validate;
                return validate && validate.rule && validate.rule.env;
            }).map(function (property) {
                return prefix + property;
            });
        },

        registerType: function (type, definition) {
            var own = $.extend({}, definition);
            own.defaults = $.extend({}, window.healthBridge.editorDefaults[type], definition.defaults);
            var migrate = own.migrate;
            delete own.migrate;
            var base = {
                category: "health bridge",
                paletteLabel: function () {
                    return this._(type + ".paletteLabel");
                },
                label: function () {
                    return this.name || this._(type + ".paletteLabel");
                }
            };
            if (own.category !== "config") {
                base.labelStyle = function () {
                    return this.name ? "node_label_italic" : "";
                };
            }
            ["inputLabels", "outputLabels"].forEach(function (name) {
                if (typeof own[name] === "string" || Array.isArray(own[name])) {
                    own[name] = keyLabels(type, own[name]);
                }
            });
            var prepare = own.oneditprepare;
            var save = own.oneditsave;
            own.oneditprepare = function () {
                if (migrate) {
                    window.healthBridge.configMigrate.prepare(this, migrate.steps, migrate.property);
                }
                nodeEditor.fillSelects(this);
                nodeEditor.envInputs(this).forEach(window.healthBridge.envInput.prepare);
                if (prepare) {
                    prepare.apply(this, arguments);
                }
            };
            own.oneditsave = function () {
                nodeEditor.envInputs(this).forEach(window.healthBridge.envInput.save);
                if (save) {
                    save.apply(this, arguments);
                }
                if (migrate) {
                    window.healthBridge.configMigrate.save(this, migrate.steps, migrate.property);
                }
            };
            RED.nodes.registerType(type, $.extend(base, own));
        }
    };

    window.healthBridge = window.healthBridge || {};
    window.healthBridge.nodeEditor = nodeEditor;
})();
