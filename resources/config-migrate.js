// The configuration steps in the editor: a node saved by an earlier release shows, when its dialog
// opens, the values the runtime will read from it, and is saved with the current version. The
// steps are data kept once, in src/lib/config-version.ts (STEPS); the build writes them into the
// editor files that use this as {{config.steps}}, and this file applies them exactly as the
// runtime's migrateConfig does (test/unit/config-migrate-editor.test.ts runs both over the same
// nodes). Node-RED serves this file from the package's resources/ folder; the editor files that use
// it load it with <script src="resources/<module>/config-migrate.js"> and take it from
// window.healthBridge. Loaded once per editor file: it must only define, never act.
(function () {
    var isBlank = function (value) {
        return value === undefined || value === null || value === "";
    };

    var configMigrate = {
        /** The version a node was saved with: 0 when it has none or one that cannot be read. */
        versionOf: function (node, versionProperty) {
            var version = Number(node[versionProperty]);
            return Math.floor(version) === version && version >= 0 ? version : 0;
        },

        /** The properties as the current release reads them (a new object; `node` is unchanged). */
        migrate: function (type, node, steps, versionProperty) {
            var saved = configMigrate.versionOf(node, versionProperty);
            var migrated = $.extend({}, node);
            for (var version = saved; version < steps.length; version++) {
                steps[version].forEach(function (change) {
                    if (change.types.indexOf(type) < 0) {
                        return;
                    }
                    var value = migrated[change.property];
                    var replaces = change.replaces === "any" || isBlank(value) ||
                        (Array.isArray(change.replaces) && change.replaces.indexOf(value) >= 0);
                    if (replaces) {
                        migrated[change.property] = change.value;
                    }
                });
            }
            migrated[versionProperty] = Math.max(saved, steps.length);
            return migrated;
        },

        /**
         * In oneditprepare, once Node-RED has filled the inputs: an old node's inputs show its
         * migrated values. Returns true when the node was old.
         */
        prepare: function (node, steps, versionProperty) {
            if (configMigrate.versionOf(node, versionProperty) >= steps.length) {
                return false;
            }
            var migrated = configMigrate.migrate(node.type, node, steps, versionProperty);
            Object.keys(migrated).forEach(function (property) {
                if (property === versionProperty || migrated[property] === node[property]) {
                    return;
                }
                var input = $("#node-input-" + property);
                if (input.attr("type") === "checkbox") {
                    input.prop("checked", migrated[property] === true || migrated[property] === "true");
                } else if (input.length) {
                    input.val(String(migrated[property]));
                }
            });
            return true;
        },

        /** In oneditsave: the values in the dialog are the current version's. */
        save: function (node, steps, versionProperty) {
            if (configMigrate.versionOf(node, versionProperty) < steps.length) {
                node[versionProperty] = steps.length;
            }
        }
    };

    window.healthBridge = window.healthBridge || {};
    window.healthBridge.configMigrate = configMigrate;
})();
