/* 统检 ILL lookup (issue 4): follow a long lookup's progress, then show the result.
 *
 * The progress page (/ill/{job}) works without JavaScript — it says how far the lookup
 * is and links to itself.  With it, this script polls GET /api/holdings/lookup/{job}
 * ?progress=1 every second, moves the progress bar, and reloads the page once the lookup
 * has finished (done or failed), which then shows the matrix.
 */
(function () {
  "use strict";

  var bar = document.getElementById("ill-progress");
  if (!bar || !window.fetch || !window.JSON) {
    return;
  }
  var job = bar.getAttribute("data-job") || "";
  if (!/^[A-Za-z0-9_-]+$/.test(job)) {
    return;
  }
  var done = document.querySelector(".ill-done");
  var failures = 0;

  function poll() {
    fetch("/api/holdings/lookup/" + job + "?progress=1",
          {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (p) {
        failures = 0;
        bar.value = p.done;
        bar.textContent = p.done + " / " + p.total;
        if (done) { done.textContent = String(p.done); }
        if (p.state !== "running") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        failures += 1;
        if (failures < 5) { window.setTimeout(poll, 3000); }
      });
  }

  window.setTimeout(poll, 700);
})();
