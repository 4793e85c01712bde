// The hosted checkout page: poll the session while a payment is under way, reload when what
// the page should show changes, and send the customer on when the session is paid.
(function () {
  "use strict";
  var root = document.getElementById("checkout");
  if (!root) { return; }
  var state = root.getAttribute("data-state");
  var statusUrl = root.getAttribute("data-status-url");

  // One click, one submission.
  Array.prototype.forEach.call(document.querySelectorAll("form.method"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; button.textContent = "Paying…"; }
    });
  });

  var auto = document.querySelector("[data-auto-redirect]");
  if (auto) { setTimeout(function () { window.location.assign(auto.href); }, 1200); }

  if (state !== "in_flight" && state !== "handover" && state !== "complete") { return; }
  function poll() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.redirect) {
          setTimeout(function () { window.location.assign(body.redirect); }, 1200);
          return;
        }
        if (body.state !== state) { window.location.reload(); return; }
        setTimeout(poll, 800);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
