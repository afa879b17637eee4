// Editor behaviour every receiver shares; spliced into each receiver's editor script, inside its
// IIFE and before registerType. Strings come from the "health-bridge-receiver" catalog that the
// build merges into each receiver's own locale file, so node._("health-bridge-receiver.…")
// resolves through the node's namespace whatever its type.
var receiverEditor = {
    normalizePath: function (path) {
        path = String(path || "").trim();
        if (path === "") {
            return "";
        }
        return path.charAt(0) === "/" ? path : "/" + path;
    },

    // The address a vendor must call: this browser's origin, httpNodeRoot and the path. null when
    // httpNodeRoot is false (no HTTP nodes at all), "" while the path is empty.
    callbackUrl: function (path) {
        var root = RED.settings.httpNodeRoot;
        if (root === false) {
            return null;
        }
        root = typeof root === "string" ? root : "/";
        if (root.charAt(0) !== "/") {
            root = "/" + root;
        }
        root = root.replace(/\/+$/, "");
        path = receiverEditor.normalizePath(path);
        if (path === "") {
            return "";
        }
        return window.location.protocol + "//" + window.location.host + root + path;
    },

    label: function (node) {
        if (node.name) {
            return node.name;
        }
        var path = receiverEditor.normalizePath(node.path);
        return path ? node.type + " " + path : node.type;
    },

    outputLabel: function (node, index) {
        return node._(index === 0 ? "health-bridge-receiver.outputs.readings" : "health-bridge-receiver.outputs.events");
    },

    prepare: function (node) {
        var t = function (key, params) {
            return node._("health-bridge-receiver." + key, params);
        };
        var namespace = node._def && node._def.set && node._def.set.id ? node._def.set.id + ":" : "";
        var pathInput = $("#node-input-path");
        var keyInput = $("#node-input-key");
        var urlInput = $("#health-bridge-receiver-url");
        var copyButton = $("#health-bridge-receiver-copy");

        pathInput.attr("placeholder", "/" + node.type.replace(/-in$/, ""));

        var refreshUrl = function () {
            var url = receiverEditor.callbackUrl(pathInput.val());
            if (url === null) {
                $(".health-bridge-receiver-url-row").hide();
                $("#health-bridge-receiver-disabled").show();
                return;
            }
            $("#health-bridge-receiver-disabled").hide();
            $(".health-bridge-receiver-url-row").show();
            urlInput.val(url);
            copyButton.prop("disabled", url === "");
            $("#health-bridge-receiver-key-tip").toggle(keyInput.val() !== "");
        };
        pathInput.on("input change", refreshUrl);
        keyInput.on("input change", refreshUrl);
        urlInput.on("focus click", function () {
            this.select();
        });
        copyButton.on("click", function (event) {
            event.preventDefault();
            if (urlInput.val()) {
                RED.clipboard.copyText(urlInput.val(), copyButton, namespace + "health-bridge-receiver.url.copied");
            }
        });

        // A flow written by hand may lack these: show the runtime's defaults.
        if (!$("#node-input-ack").val()) {
            $("#node-input-ack").val("auto");
        }
        if (!$("#node-input-pii").val()) {
            $("#node-input-pii").val("keep");
        }
        $("#node-input-ack").on("change", function () {
            $(".health-bridge-receiver-flow").toggle($(this).val() === "flow");
        });
        $("#node-input-pii").on("change", function () {
            $(".health-bridge-receiver-pseudonymize").toggle($(this).val() === "pseudonymize");
        });
        $("#node-input-dedupHours").on("input change", function () {
            var value = String($(this).val()).trim();
            $(".health-bridge-receiver-dedup").toggle(value === "" || Number(value) !== 0);
        });

        // Context stores come from settings.js (contextStorage); "" is this node's own memory.
        var store = node.dedupStore || "";
        var context = RED.settings.context || {};
        var stores = context.stores || [];
        var storeSelect = $("#node-input-dedupStore").empty();
        $("<option></option>").val("").text(t("dedupStore.memory")).appendTo(storeSelect);
        stores.forEach(function (name) {
            var text = name === context.default ? t("dedupStore.default", {store: name}) : name;
            $("<option></option>").val(name).text(text).appendTo(storeSelect);
        });
        if (store !== "" && stores.indexOf(store) === -1) {
            $("<option></option>").val(store).text(t("dedupStore.missing", {store: store})).appendTo(storeSelect);
        }
        storeSelect.val(store);

        if (typeof Intl.supportedValuesOf === "function") {
            var zones = $("#health-bridge-receiver-zones").empty();
            Intl.supportedValuesOf("timeZone").forEach(function (zone) {
                $("<option></option>").val(zone).appendTo(zones);
            });
        }

        refreshUrl();
    }
};
