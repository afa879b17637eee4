// A text property that may come from an environment variable, as a typed input (string | env
// variable). Node-RED replaces a property or credential whose whole value is ${NAME} with that
// variable when the flow starts, so the env choice is stored as exactly that text: the runtime
// needs nothing of ours, and a flow written by hand with ${NAME} opens as "env variable".
// Node-RED serves this file from the package's resources/ folder; the editor files that use it
// load it with <script src="resources/<module>/env-input.js"> and take it from window.healthBridge.
(function () {
    var envInput = {
        reference: /^\$\{(\S+)\}$/,

        /** For validators: ${NAME} is checked by Node-RED when the flow starts, not here. */
        isReference: function (value) {
            return envInput.reference.test(String(value || "").trim());
        },

        /** In oneditprepare, once Node-RED has filled the input with the property's value. */
        prepare: function (inputId) {
            var input = $("#" + inputId);
            var match = envInput.reference.exec(String(input.val() || "").trim());
            input.typedInput({default: "str", types: ["str", "env"]});
            if (match) {
                input.typedInput("type", "env");
                input.typedInput("value", match[1]);
            }
        },

        /** In oneditsave: Node-RED reads the input's own value after this. */
        save: function (inputId) {
            var input = $("#" + inputId);
            if (input.typedInput("type") === "env") {
                var name = String(input.typedInput("value") || "").trim();
                input.val(name === "" ? "" : "${" + name + "}");
            }
        }
    };
    window.healthBridge = window.healthBridge || {};
    window.healthBridge.envInput = envInput;
})();
