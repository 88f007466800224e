// The page's language (portal/i18n.py) for the scripts: msgid → translation from
// <script id="i18n">; "{name}" in a message is filled from `values`.  Loaded (deferred)
// from base.html's head, so it runs before any page script.
(function () {
  "use strict";
  var messages = {};
  try {
    var table = document.getElementById("i18n");
    if (table) { messages = JSON.parse(table.textContent) || {}; }
  } catch (e) { messages = {}; }
  window.tongjianT = function (text, values) {
    var out = messages[text] || text;
    Object.keys(values || {}).forEach(function (k) { out = out.split("{" + k + "}").join(String(values[k])); });
    return out;
  };
})();
