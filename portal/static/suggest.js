/* 统检 search-as-you-type (issue 12): the header search box becomes an ARIA combobox
 * offering titles and names as the reader types — in characters, pinyin or initials
 * (GET /api/suggest?q=).
 *
 * Keyboard: ↓/↑ move through the suggestions (↓ also opens them), Enter follows the one
 * chosen (with none chosen, the form submits what was typed), Escape closes the list,
 * Tab leaves it.  Suggestions are put in the page with textContent only.  Without
 * JavaScript this file does nothing and the box is the plain search form it always was.
 */
(function () {
  "use strict";

  var input = document.getElementById("q");
  if (!input || !window.fetch || !window.JSON) {
    return;
  }
  var form = input.form;
  var list = document.createElement("ul");
  list.id = "q-suggest";
  list.className = "suggest";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "检索建议");
  list.hidden = true;
  var status = document.createElement("span");
  status.className = "visually-hidden";
  status.setAttribute("role", "status");
  input.insertAdjacentElement("afterend", list);
  form.appendChild(status);

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");

  var items = [];     // [{text, field, url}]
  var active = -1;    // index of the chosen option, -1 for none
  var asked = 0;      // sequence number of the newest request; older answers are dropped
  var timer = null;
  var labels = {title: "题名", author: "著者"};

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function choose(i) {
    var options = list.children;
    if (active >= 0 && options[active]) {
      options[active].setAttribute("aria-selected", "false");
    }
    active = i;
    if (i >= 0 && options[i]) {
      options[i].setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", options[i].id);
      options[i].scrollIntoView({block: "nearest"});
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(suggestions) {
    items = suggestions;
    list.textContent = "";
    active = -1;
    if (!items.length) {
      close();
      status.textContent = "";
      return;
    }
    items.forEach(function (s, i) {
      var li = document.createElement("li");
      li.id = "q-suggest-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      var text = document.createElement("span");
      text.textContent = s.text;
      var kind = document.createElement("span");
      kind.className = "suggest-field";
      kind.textContent = labels[s.field] || "";
      li.appendChild(text);
      li.appendChild(kind);
      li.addEventListener("mousedown", function (event) {
        event.preventDefault();  // keep focus in the box until we navigate
        window.location.href = s.url;
      });
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    status.textContent = items.length + " 条建议，可用上下方向键选择";
  }

  function ask() {
    var q = input.value.trim();
    var mine = ++asked;
    if (!q) {
      show([]);
      return;
    }
    fetch("/api/suggest?q=" + encodeURIComponent(q), {headers: {Accept: "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {suggestions: []}; })
      .then(function (data) {
        if (mine === asked && document.activeElement === input) {
          show(data.suggestions || []);
        }
      })
      .catch(function () { /* no suggestions is the page without this script */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(ask, 120);
  });

  input.addEventListener("keydown", function (event) {
    var open = !list.hidden && items.length > 0;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (!open) {
        if (items.length) { show(items); } else { ask(); }
        return;
      }
      choose(active + 1 < items.length ? active + 1 : 0);
    } else if (event.key === "ArrowUp") {
      if (!open) { return; }
      event.preventDefault();
      choose(active > 0 ? active - 1 : items.length - 1);
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault();
        window.location.href = items[active].url;
      }
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        close();
      }
    } else if (event.key === "Tab") {
      close();
    }
  });

  input.addEventListener("blur", function () { setTimeout(close, 150); });
})();
