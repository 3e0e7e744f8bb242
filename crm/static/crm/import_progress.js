// A big import's page: polls its status while the worker reads or imports the file, moving the bar; once the
// worker is done (or failed) the page reloads to show the preview (or the reason). No inline script: the CSP allows none.
document.addEventListener("DOMContentLoaded", function () {
  var card = document.getElementById("import-progress");
  if (!card) return;
  var state = document.getElementById("import-state");
  var rows = document.getElementById("import-rows");
  var bar = document.getElementById("import-bar");
  var read = document.getElementById("rows-read");
  function poll() {
    fetch(card.dataset.statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (status) {
        if (!status.running) { window.location.reload(); return; }
        state.textContent = status.label;
        var reading = status.status === "reading";
        rows.hidden = !reading;
        if (reading) {
          read.textContent = status.rows_read;
        }
        bar.style.width = (reading ? status.percent : 100) + "%";
        bar.setAttribute("aria-valuenow", status.percent);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });  // a dropped request: try again, more slowly
  }
  window.setTimeout(poll, 1000);
});
