// The editor's Health Bridge sidebar tab: what the running health-bridge nodes report through the
// admin API (GET health-bridge/status, the outboxes' queue and dead letters), with Retry and
// Discard for the dead letters. Node-RED serves this file from the package's resources/ folder;
// the plugin's editor file (dist/plugins/health-bridge.html) loads it with <script src> and calls
// window.healthBridgeSidebar.create(plugin) from its own registerPlugin, so that plugin._ reads the
// plugin's catalog (locales/<lang>/health-bridge.json).
//
// Everything shown here comes from outside the editor: node names, a vendor's fields, a hospital's
// error text. It is put into the page with jQuery's .text() or as an attribute value, never as
// markup, so an error text such as <img src=x onerror=…> is shown as those characters. RED.notify
// takes HTML: it is given elements built the same way, and its texts carry numbers only.
(function () {
    "use strict";

    var TAB_ID = "health-bridge";
    /** How often the status is read while the tab is shown. */
    var REFRESH_MS = 5000;
    /** How often the tab checks whether it is shown (cheap: no request). */
    var TICK_MS = 1000;
    /** Entries of a queue or a dead-letter list read at once; "more" reads the next page. */
    var PAGE = 20;
    var OUTCOME_ORDER = ["accepted", "duplicate", "rejected", "unauthorized", "too_large", "failed", "timeout", "unavailable"];

    function create(plugin) {
        var _ = function (key, values) {
            return plugin._(key, values);
        };
        var content = $("<div>", {class: "health-bridge-sidebar"});
        var body = $("<div>", {class: "health-bridge-sidebar-body"}).appendTo(content);
        var toolbar = $("<div>", {class: "health-bridge-sidebar-toolbar"});
        var updated = $("<span>", {class: "health-bridge-sidebar-updated"}).appendTo(toolbar);
        var refreshButton = $("<button>", {type: "button", class: "red-ui-sidebar-header-button health-bridge-sidebar-refresh"})
            .attr("title", _("sidebar.refresh"))
            .append($("<i>", {class: "fa fa-refresh"}))
            .appendTo($("<span>", {class: "button-group"}).appendTo(toolbar));

        // per outbox id: which of its lists are open, and the entries read for each
        var lists = {};
        var lastRead = 0;
        var wasShown = false;
        var reading = false;
        var readAgain = false;

        function listState(outboxId, which) {
            lists[outboxId] = lists[outboxId] || {};
            if (!lists[outboxId][which]) {
                // dead letters wait for a person: their list is open from the start
                lists[outboxId][which] = {open: which === "dead-letters", limit: PAGE, entries: [], more: false, error: null};
            }
            return lists[outboxId][which];
        }

        function shown() {
            return content.is(":visible");
        }

        function canWrite() {
            return RED.user.hasPermission("health-bridge.write");
        }

        function api(method, url, data) {
            return $.ajax({
                method: method,
                url: url,
                cache: false,
                dataType: "json",
                headers: {Accept: "application/json"},
                contentType: data === undefined ? undefined : "application/json",
                data: data === undefined ? undefined : JSON.stringify(data),
            });
        }

        function outboxUrl(outboxId, rest) {
            return "health-bridge/outboxes/" + encodeURIComponent(outboxId) + "/" + rest;
        }

        /** The first entries of an outbox's queue or dead letters, as many as the list shows. */
        function readList(outboxId, which) {
            var state = listState(outboxId, which);
            // the answer: {entries, next (null on the last page), total}
            return api("GET", outboxUrl(outboxId, which) + "?limit=" + state.limit).then(function (answer) {
                state.entries = answer.entries;
                state.more = answer.next !== null;
                state.error = null;
            }, function (xhr) {
                state.error = xhr.status;
                // a failed list does not fail the refresh: the rest is still worth showing
                return $.Deferred().resolve().promise();
            });
        }

        /** Reads the status, then the lists that are open, and draws it all in one go. */
        function refresh() {
            if (reading) {
                // a click (a list opened, an action done) while a read is under way: once more after it
                readAgain = true;
                return;
            }
            reading = true;
            lastRead = Date.now();
            api("GET", "health-bridge/status").then(function (status) {
                var pending = [];
                status.outboxes.forEach(function (outbox) {
                    ["queue", "dead-letters"].forEach(function (which) {
                        var state = listState(outbox.id, which);
                        var count = which === "queue" ? outbox.queued : outbox.deadLetters;
                        if (state.open && count > 0) {
                            pending.push(readList(outbox.id, which));
                        } else {
                            state.entries = [];
                            state.more = false;
                        }
                    });
                });
                return $.when.apply($, pending).then(function () {
                    render(status);
                });
            }, function (xhr) {
                renderFailure(xhr.status);
            }).always(function () {
                reading = false;
                if (readAgain) {
                    readAgain = false;
                    refresh();
                }
                updated.text(_("sidebar.updated", {time: new Date().toLocaleTimeString(RED.i18n.lang())}));
            });
        }

        // One timer while the editor is open; it reads only while the tab is shown (the tab
        // hidden, another tab in front, the sidebar closed: no request), at once when the tab
        // comes back into view.
        setInterval(function () {
            var now = shown();
            if (now && (!wasShown || Date.now() - lastRead >= REFRESH_MS)) {
                refresh();
            }
            wasShown = now;
        }, TICK_MS);

        // A deploy starts and stops nodes: read again once they have started.
        RED.events.on("deploy", function () {
            if (shown()) {
                setTimeout(refresh, 1000);
            }
        });
        refreshButton.on("click", function (event) {
            event.preventDefault();
            refresh();
        });

        // ---- drawing -------------------------------------------------------------------------

        function text(tag, cls, value) {
            return $("<" + tag + ">", {class: cls}).text(value);
        }

        /** The node's label as the editor shows it on the canvas, else the name the runtime gave. */
        function label(item) {
            var node = RED.nodes.node(item.id);
            if (node) {
                var shownLabel = RED.utils.getNodeLabel(node, "");
                if (shownLabel) {
                    return shownLabel;
                }
            }
            return item.name || item.type;
        }

        /** A row for a running node: a click shows the node in the flow (config nodes in their tab). */
        function nodeRow(item, kind) {
            var row = $("<div>", {class: "health-bridge-sidebar-row health-bridge-sidebar-" + kind}).attr("data-node", item.id);
            var head = $("<div>", {class: "health-bridge-sidebar-row-head"}).appendTo(row);
            text("span", "health-bridge-sidebar-name", label(item)).appendTo(head);
            head.on("click", function () {
                reveal(item.id);
            });
            return {row: row, head: head};
        }

        function reveal(id) {
            var node = RED.nodes.node(id);
            if (!node) {
                return;
            }
            if (node._def && node._def.category === "config") {
                // RED.view.reveal marks a config node in the Configuration nodes tab: bring it forward
                RED.sidebar.show("config");
            }
            RED.view.reveal(id);
        }

        function age(seconds) {
            seconds = Math.max(0, Math.round(seconds));
            if (seconds < 60) {
                return _("age.seconds", {n: seconds});
            }
            if (seconds < 3600) {
                return _("age.minutes", {n: Math.floor(seconds / 60)});
            }
            if (seconds < 86400) {
                return _("age.hours", {n: Math.floor(seconds / 3600)});
            }
            return _("age.days", {n: Math.floor(seconds / 86400)});
        }

        function when(iso) {
            var time = new Date(iso);
            return isNaN(time.getTime()) ? String(iso) : time.toLocaleString(RED.i18n.lang());
        }

        function section(key, count, rows, emptyKey) {
            var box = $("<div>", {class: "health-bridge-sidebar-section"}).attr("data-section", key);
            var title = $("<div>", {class: "health-bridge-sidebar-section-title"}).appendTo(box);
            text("span", "", _("section." + key)).appendTo(title);
            text("span", "health-bridge-sidebar-count", String(count)).appendTo(title);
            if (rows.length === 0) {
                text("div", "health-bridge-sidebar-empty", _(emptyKey)).appendTo(box);
            }
            rows.forEach(function (row) {
                box.append(row);
            });
            return box;
        }

        function figures(parts) {
            var line = $("<div>", {class: "health-bridge-sidebar-figures"});
            parts.forEach(function (part) {
                var span = text("span", "health-bridge-sidebar-figure" + (part.cls ? " " + part.cls : ""), part.text);
                if (part.title) {
                    span.attr("title", part.title);
                }
                line.append(span);
            });
            return line;
        }

        function render(status) {
            var scroll = body.scrollTop();
            body.empty();
            body.append(section("outboxes", status.outboxes.length, status.outboxes.map(outboxRow), "empty.outboxes"));
            body.append(section("receivers", status.receivers.length, status.receivers.map(receiverRow), "empty.receivers"));
            body.append(section("mllp", status.mllp.length, status.mllp.map(mllpRow), "empty.mllp"));
            body.append(section("expeed", status.expeedAccounts.length, status.expeedAccounts.map(expeedRow), "empty.expeed"));
            var firing = status.watches.reduce(function (total, watch) {
                return total + watch.firing.reduce(function (sum, rule) {
                    return sum + rule.count;
                }, 0);
            }, 0);
            body.append(section("alerts", firing, status.watches.map(watchRow), "empty.watches"));
            body.scrollTop(scroll);
        }

        function renderFailure(code) {
            body.empty();
            var key = code === 401 || code === 403 ? "error.forbidden" : "error.status";
            text("div", "health-bridge-sidebar-error", _(key, {status: code || "–"})).appendTo(body);
        }

        function receiverRow(receiver) {
            var parts = nodeRow(receiver, "receiver");
            text("span", "health-bridge-sidebar-tag", receiver.vendor).appendTo(parts.head);
            parts.row.append(figures([receiver.lastPush
                ? {text: _("receiver.lastPush", {age: age((Date.now() - Date.parse(receiver.lastPush)) / 1000)}), title: when(receiver.lastPush)}
                : {text: _("receiver.noPush")}]));
            var counts = OUTCOME_ORDER.filter(function (outcome) {
                return receiver.pushes[outcome] > 0;
            }).map(function (outcome) {
                return {
                    text: _("outcome." + outcome) + " " + receiver.pushes[outcome],
                    cls: outcome === "accepted" || outcome === "duplicate" ? "" : "health-bridge-sidebar-bad",
                };
            });
            if (counts.length > 0) {
                parts.row.append(figures(counts).addClass("health-bridge-sidebar-outcomes"));
            }
            return parts.row;
        }

        function outboxRow(outbox) {
            var parts = nodeRow(outbox, "outbox");
            var line = [{text: _("outbox.queued", {n: outbox.queued})}];
            if (outbox.inFlight > 0) {
                line.push({text: _("outbox.inFlight", {n: outbox.inFlight})});
            }
            if (outbox.queued + outbox.inFlight > 0) {
                line.push({text: _("outbox.oldest", {age: age(outbox.oldestSeconds)})});
            }
            line.push({text: _("outbox.delivered", {n: outbox.delivered})});
            parts.row.append(figures(line));
            // what waits, in flight included, as the queue's listing counts it (its `total`)
            parts.row.append(listBlock(outbox, "queue", outbox.queued));
            parts.row.append(listBlock(outbox, "dead-letters", outbox.deadLetters));
            return parts.row;
        }

        function mllpRow(connection) {
            var parts = nodeRow(connection, "mllp");
            var state = connection.connected ? "connected" : connection.state;
            var known = ["connected", "idle", "connecting", "waiting", "error", "closed"].indexOf(connection.state) >= 0;
            parts.row.append(figures([
                {text: connection.address},
                {text: known ? _("mllp." + connection.state) : connection.state, cls: connection.connected ? "health-bridge-sidebar-good" : "health-bridge-sidebar-bad"},
            ]));
            parts.row.attr("data-state", state);
            return parts.row;
        }

        function expeedRow(account) {
            var parts = nodeRow(account, "expeed");
            parts.row.append(figures([
                {text: _("expeed.left", {left: account.tokenCallsLeft, cap: account.dailyTokenCap}), cls: account.tokenCallsLeft > 0 ? "" : "health-bridge-sidebar-bad"},
                {text: _("expeed.today", {n: account.tokenCallsToday})},
            ]));
            return parts.row;
        }

        function watchRow(watch) {
            var parts = nodeRow(watch, "watch");
            if (watch.firing.length === 0) {
                parts.row.append(figures([{text: _("watch.none")}]));
            }
            watch.firing.forEach(function (rule) {
                var severity = ["urgent", "warning", "info"].indexOf(rule.severity) >= 0 ? _("watch.severity." + rule.severity) : rule.severity;
                parts.row.append(figures([
                    {text: rule.rule, cls: "health-bridge-sidebar-rule"},
                    {text: severity, cls: rule.severity === "urgent" ? "health-bridge-sidebar-bad" : "health-bridge-sidebar-warn"},
                    {text: "× " + rule.count},
                ]));
            });
            return parts.row;
        }

        /** An outbox's queue or dead letters: a toggle with the count, and the entries when open. */
        function listBlock(outbox, which, count) {
            var state = listState(outbox.id, which);
            var block = $("<div>", {class: "health-bridge-sidebar-list"}).attr("data-list", which);
            if (count === 0) {
                // nothing to open
                text("span", "health-bridge-sidebar-toggle health-bridge-sidebar-none", _("list." + which, {n: 0})).appendTo(block);
                return block;
            }
            var toggle = $("<a>", {href: "#", class: "health-bridge-sidebar-toggle"}).appendTo(block);
            $("<i>", {class: "fa " + (state.open ? "fa-caret-down" : "fa-caret-right")}).appendTo(toggle);
            text("span", "", " " + _("list." + which, {n: count})).appendTo(toggle);
            if (which === "dead-letters") {
                toggle.addClass("health-bridge-sidebar-bad");
            }
            toggle.on("click", function (event) {
                event.preventDefault();
                state.open = !state.open;
                refresh();
            });
            if (which === "dead-letters") {
                var all = $("<span>", {class: "health-bridge-sidebar-actions"}).appendTo(block);
                actionButton("retry-all", outbox, {all: true}, count).appendTo(all);
                actionButton("discard-all", outbox, {all: true}, count).appendTo(all);
            }
            if (!state.open) {
                return block;
            }
            var entries = $("<ol>", {class: "health-bridge-sidebar-entries"}).appendTo(block);
            if (state.error) {
                text("li", "health-bridge-sidebar-error", _(state.error === 401 || state.error === 403 ? "error.forbidden" : "error.status", {status: state.error})).appendTo(entries);
            }
            state.entries.forEach(function (entry) {
                entries.append(entryRow(outbox, which, entry));
            });
            if (state.more) {
                $("<a>", {href: "#", class: "health-bridge-sidebar-more"}).text(_("list.more")).on("click", function (event) {
                    event.preventDefault();
                    state.limit += PAGE;
                    refresh();
                }).appendTo(block);
            }
            return block;
        }

        function entryRow(outbox, which, entry) {
            var row = $("<li>", {class: "health-bridge-sidebar-entry"}).attr("data-entry", entry.entry);
            var head = $("<div>", {class: "health-bridge-sidebar-entry-head"}).appendTo(row);
            text("span", "health-bridge-sidebar-tag", [entry.vendor, entry.kind].filter(Boolean).join(" · ")).appendTo(head);
            if (entry.time) {
                text("span", "health-bridge-sidebar-time", when(entry.time)).appendTo(head);
            }
            if (entry.unreadable) {
                // the record cannot be read here (no key, another key, damage): its code only
                text("div", "health-bridge-sidebar-entry-error", _("entry.unreadable", {code: entry.unreadable})).appendTo(row);
            }
            if (entry.lastError) {
                var error = $("<div>", {class: "health-bridge-sidebar-entry-error"}).appendTo(row);
                if (entry.lastError.code) {
                    text("span", "health-bridge-sidebar-code", entry.lastError.code).appendTo(error);
                }
                text("span", "health-bridge-sidebar-error-text", entry.lastError.text || "").appendTo(error);
            }
            var line = [{text: _("entry.tries", {n: entry.tries})}];
            if (entry.queuedAt) {
                line.push({text: _("entry.queuedAt", {time: when(entry.queuedAt)})});
            }
            if (which === "queue" && entry.inFlight) {
                line.push({text: _("entry.inFlight")});
            } else if (which === "queue" && entry.nextTry) {
                line.push({text: _("entry.nextTry", {time: when(entry.nextTry)})});
            }
            if (entry.deadAt) {
                line.push({text: _("entry.deadAt", {time: when(entry.deadAt)})});
            }
            if (entry.readingId) {
                line.push({text: entry.readingId, cls: "health-bridge-sidebar-reading"});
            }
            row.append(figures(line));
            if (which === "dead-letters") {
                var actions = $("<div>", {class: "health-bridge-sidebar-actions"}).appendTo(row);
                actionButton("retry", outbox, {entries: [entry.entry]}, 1).appendTo(actions);
                actionButton("discard", outbox, {entries: [entry.entry]}, 1).appendTo(actions);
            }
            return row;
        }

        // ---- Retry and Discard -----------------------------------------------------------------

        function actionButton(action, outbox, selection, count) {
            var discard = /^discard/.test(action);
            var button = $("<button>", {type: "button", class: "red-ui-button red-ui-button-small health-bridge-sidebar-" + action})
                .text(_("action." + action));
            if (!canWrite()) {
                // the admin API refuses them too; the button says why it does nothing
                button.prop("disabled", true).attr("title", _("action.needsWrite"));
                return button;
            }
            button.on("click", function (event) {
                event.stopPropagation();
                if (discard) {
                    confirmDiscard(action === "discard-all" ? "confirm.discardAll" : "confirm.discardOne", count, function () {
                        act(outbox, "discard", selection, count);
                    });
                } else {
                    act(outbox, "retry", selection, count);
                }
            });
            return button;
        }

        function confirmDiscard(question, count, discard) {
            var message = $("<div>", {class: "health-bridge-sidebar-confirm"});
            text("p", "", _(question, {n: count})).appendTo(message);
            var dialog = RED.notify(message, {
                modal: true,
                fixed: true,
                type: "warning",
                buttons: [
                    {text: _("confirm.cancel"), click: function () {
                        dialog.close();
                    }},
                    {text: _("confirm.discardButton"), class: "primary", click: function () {
                        dialog.close();
                        discard();
                    }},
                ],
            });
        }

        function act(outbox, action, selection, count) {
            // the answer says how many it found: {retried: n} or {discarded: n}
            api("POST", outboxUrl(outbox.id, "dead-letters/" + action), selection).then(function (answer) {
                var done = action === "retry" ? answer.retried : answer.discarded;
                notify(_("done." + action, {n: typeof done === "number" ? done : count}), "success");
            }, function (xhr) {
                notify(_("error.action", {status: xhr.status || "–"}), "error");
            }).always(refresh);
        }

        function notify(message, type) {
            RED.notify($("<div>").text(message), {type: type, timeout: 3000});
        }

        return {
            id: TAB_ID,
            label: _("sidebar.label"),
            name: _("sidebar.name"),
            iconClass: "fa fa-heartbeat",
            content: content,
            toolbar: toolbar,
            enableOnEdit: true,
            onchange: function () {
                refresh();
            },
        };
    }

    window.healthBridgeSidebar = {create: create};
})();
