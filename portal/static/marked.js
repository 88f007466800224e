/* The reader's marked list for export (up to 200 entries), kept in this browser only
 * (localStorage), so entries marked on several result pages and record pages export
 * together.  Without JavaScript the result list's checkboxes still export the entries
 * marked on that page, and every record page has its own export links. */
(function () {
  "use strict";
  var KEY = "tongjian-marked";
  var MAX = 200;

  function load() {
    try {
      var ids = JSON.parse(window.localStorage.getItem(KEY) || "[]");
      return Array.isArray(ids) ? ids.filter(function (x) { return typeof x === "string"; }) : [];
    } catch (e) { return []; }
  }
  function save(ids) {
    try { window.localStorage.setItem(KEY, JSON.stringify(ids.slice(0, MAX))); } catch (e) { /* private mode */ }
  }
  function toggle(id, on) {
    var ids = load().filter(function (x) { return x !== id; });
    if (on) { ids.push(id); }
    save(ids);
    show();
  }
  function show() {
    var n = load().length;
    document.querySelectorAll(".marked-count").forEach(function (el) {
      el.textContent = n ? "已选 " + n + " 条（最多 " + MAX + " 条）" : "";
      el.hidden = !n;
    });
  }

  var boxes = document.querySelectorAll("input.mark");
  var marked = load();
  boxes.forEach(function (box) {
    box.checked = marked.indexOf(box.value) >= 0;
    box.addEventListener("change", function () {
      if (box.checked && load().length >= MAX) {
        box.checked = false;
        window.alert("导出列表最多 " + MAX + " 条。请先导出已选的书目。");
        return;
      }
      toggle(box.value, box.checked);
    });
  });
  document.querySelectorAll(".mark-record").forEach(function (el) { el.hidden = false; });

  var form = document.getElementById("marked");
  if (form) {
    form.addEventListener("submit", function (event) {
      var onPage = {};
      form.querySelectorAll("input.mark").forEach(function (box) { onPage[box.value] = box.checked; });
      var ids = load();
      var total = ids.filter(function (id) { return !(id in onPage); }).length +
        Object.keys(onPage).filter(function (id) { return onPage[id]; }).length;
      if (!total) {
        event.preventDefault();
        window.alert("请先勾选要导出的书目。");
        return;
      }
      form.querySelectorAll("input.carried").forEach(function (el) { el.remove(); });
      ids.forEach(function (id) {
        if (id in onPage) { return; }
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "id";
        input.value = id;
        input.className = "carried";
        form.appendChild(input);
      });
    });
  }
  show();
})();
