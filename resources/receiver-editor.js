// Editor behaviour every receiver shares. Node-RED serves this file from the package's resources/
// folder; each receiver's editor file loads it with <script src="resources/<module>/receiver-editor.js">
// (Node-RED loads such scripts before the file's own) and takes it from window.healthBridge.
// Strings come from the "health-bridge-receiver" catalog that the build merges into each
// receiver's own locale file, so node._("health-bridge-receiver.…") resolves through the node's
// namespace whatever its type. Loaded once per receiver file: it must only define, never act.
(function () {
    var receiverEditor = {
        normalizePath: function (path) {
            path = String(path || "").trim();
            if (path === "") {
                return "";
            }
            return path.charAt(0) === "/" ? path : "/" + path;
        },

        // A receiver's own key: 24 random bytes from the browser's CSPRNG, written in base64url (32
        // characters of A-Z a-z 0-9 - _), so that it goes into a URL as it is.
        newKey: function () {
            var bytes = new Uint8Array(24);
            window.crypto.getRandomValues(bytes);
            var binary = "";
            for (var i = 0; i < bytes.length; i++) {
                binary += String.fromCharCode(bytes[i]);
            }
            return window.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
        },

        // onadd: Node-RED calls it for a node the user adds (palette, quick-add) and also for every
        // node of a paste or an import. Only the first get a key: a node Node-RED imported carries
        // _config (the properties it arrived with). A pasted or imported receiver keeps the
        // credentials it came with, or none: Node-RED's copy carries a credential only while it is
        // not deployed yet, and an export none. A fresh key there would silently differ from the
        // key the vendor already uses; left without one, it is named as open at deploy and its
        // dialog offers to generate one. The key is generated here, not as a default value of the
        // credential, so that no two receivers share one, and a receiver deployed without its
        // dialog ever being opened has one too.
        added: function (node) {
            if (node._config === undefined && !node.credentials) {
                node.credentials = {key: receiverEditor.newKey()};
            }
        },

        // The address a vendor must call: this browser's origin, httpNodeRoot, the path and, when
        // the receiver has a key, ?key=…. null when httpNodeRoot is false (no HTTP nodes at all), ""
        // while the path is empty.
        callbackUrl: function (path, key) {
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
            var query = key ? "?key=" + encodeURIComponent(key) : "";
            return window.location.protocol + "//" + window.location.host + root + path + query;
        },

        // ack: flow answers the vendor only once every message of a push has reached a health-ack
        // node, so an output with no health-ack after it makes each push that sends a message there
        // time out (503) and come back, again and again. Returns the indexes of such outputs. Wires
        // are followed through every node and through link out/in and link call; where the editor
        // cannot tell where a message goes (a subflow, a link call with a dynamic target, a link out
        // returning to its caller) the output counts as acknowledged, so the warning is never false.
        outputsWithoutAck: function (node) {
            var isReached = function (target, seen) {
                if (seen[target.id]) {
                    return false;
                }
                seen[target.id] = true;
                if (target.d === true) {
                    return false;
                }
                if (target.type === "health-ack") {
                    return true;
                }
                // Where the editor cannot follow a message, count it as acknowledged. A junction has
                // no definition of its own but only passes messages on.
                var opaque = target.type !== "junction" && (!target._def || /^subflow/.test(target.type) ||
                    (target.type === "link out" && target.mode === "return") ||
                    (target.type === "link call" && target.linkType === "dynamic"));
                if (opaque) {
                    return true;
                }
                var next = RED.nodes.filterLinks({source: target}).map(function (link) {
                    return link.target;
                });
                if (target.type === "link out" || target.type === "link call") {
                    (target.links || []).forEach(function (id) {
                        var linkIn = RED.nodes.node(id);
                        if (linkIn) {
                            next.push(linkIn);
                        }
                    });
                }
                return next.some(function (nextTarget) {
                    return isReached(nextTarget, seen);
                });
            };
            var missing = [];
            for (var port = 0; port < node.outputs; port++) {
                var seen = {};
                seen[node.id] = true;
                var reached = RED.nodes.filterLinks({source: node, sourcePort: port}).some(function (link) {
                    return isReached(link.target, seen);
                });
                if (!reached) {
                    missing.push(port);
                }
            }
            return missing;
        },

        // What to tell the user about the outputs outputsWithoutAck returns (plain text: it is also
        // the tooltip of the badge on the canvas). "" when every output is covered.
        ackWarning: function (node, missing) {
            if (missing.length === 0) {
                return "";
            }
            if (missing.length === node.outputs) {
                return node._("health-bridge-receiver.warn.no-ack");
            }
            return missing.map(function (port) {
                return node._("health-bridge-receiver.warn.no-ack-output", {
                    port: port + 1,
                    output: receiverEditor.outputLabel(node, port)
                });
            }).join(" ");
        },

        // A badge on every receiver of this type that is set to ack: flow but lacks a health-ack
        // after an output, whether or not its dialog is ever opened. Called once per receiver type.
        watchAck: function (type) {
            if (!RED.view.annotations || !RED.events) {
                return;
            }
            RED.view.annotations.register("health-bridge-no-ack-" + type, {
                type: "badge",
                class: "health-bridge-receiver-no-ack",
                filter: function (node) {
                    return node.type === type;
                },
                element: function () {
                    var triangle = document.createElementNS("http://www.w3.org/2000/svg", "path");
                    triangle.setAttribute("d", "M 0,9 l 10,0 -5,-8 z");
                    triangle.setAttribute("fill", "#f0ad4e");
                    triangle.setAttribute("stroke", "#a56a13");
                    return triangle;
                },
                tooltip: function (node) {
                    return receiverEditor.ackWarning(node, receiverEditor.outputsWithoutAck(node));
                },
                show: function (node) {
                    return node.ack === "flow" && receiverEditor.outputsWithoutAck(node).length > 0;
                }
            });
            // A node is redrawn only when it changes itself, not when a wire or a node further down
            // the flow does: mark this type's nodes for redrawing after such changes (once per batch,
            // an import adds many nodes at once).
            var pending = false;
            var refresh = function () {
                if (pending) {
                    return;
                }
                pending = true;
                setTimeout(function () {
                    pending = false;
                    RED.nodes.eachNode(function (node) {
                        if (node.type === type) {
                            node.dirty = true;
                        }
                    });
                    RED.view.redraw();
                }, 0);
            };
            ["links:add", "links:remove", "nodes:add", "nodes:remove", "nodes:change"].forEach(function (event) {
                RED.events.on(event, refresh);
            });
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
            var allowInput = $("#node-input-allow");
            var urlInput = $("#health-bridge-receiver-url");
            var copyButton = $("#health-bridge-receiver-copy");
            var generateButton = $("#health-bridge-receiver-generate-key");

            pathInput.attr("placeholder", "/" + node.type.replace(/-in$/, ""));

            var refreshUrl = function () {
                var key = String(keyInput.val() || "");
                // Neither a key nor an allow-list: say so here, as the runtime will at deploy. A
                // receiver without a key (one copied or imported, or whose key the user removed)
                // is offered a new one, never given one behind the user's back.
                generateButton.toggle(key === "");
                $("#health-bridge-receiver-open").toggle(key === "" && String(allowInput.val() || "").trim() === "");
                var url = receiverEditor.callbackUrl(pathInput.val(), key);
                if (url === null) {
                    $(".health-bridge-receiver-url-row").hide();
                    $("#health-bridge-receiver-disabled").show();
                    return;
                }
                $("#health-bridge-receiver-disabled").hide();
                $(".health-bridge-receiver-url-row").show();
                urlInput.val(url);
                copyButton.prop("disabled", url === "");
                $("#health-bridge-receiver-key-tip").toggle(key !== "");
            };
            pathInput.on("input change", refreshUrl);
            keyInput.on("input change", refreshUrl);
            allowInput.on("input change", refreshUrl);
            generateButton.on("click", function (event) {
                event.preventDefault();
                keyInput.val(receiverEditor.newKey()).trigger("change");
            });
            urlInput.on("focus click", function () {
                this.select();
            });
            copyButton.on("click", function (event) {
                event.preventDefault();
                if (urlInput.val()) {
                    RED.clipboard.copyText(urlInput.val(), copyButton, namespace + "health-bridge-receiver.url.copied");
                }
            });

            // (a select a flow written by hand left empty shows the runtime's default: node-editor.js)
            // The wires cannot change while the dialog is open: which outputs lack a health-ack is
            // known now; whether that matters depends on the ack select.
            var ackWarning = receiverEditor.ackWarning(node, receiverEditor.outputsWithoutAck(node));
            $("#health-bridge-receiver-no-ack-text").text(ackWarning);
            $("#node-input-ack").on("change", function () {
                var flow = $(this).val() === "flow";
                $(".health-bridge-receiver-flow").toggle(flow);
                $("#health-bridge-receiver-no-ack").toggle(flow && ackWarning !== "");
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
    window.healthBridge = window.healthBridge || {};
    window.healthBridge.receiverEditor = receiverEditor;
})();
