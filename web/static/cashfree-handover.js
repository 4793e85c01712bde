// Opens Cashfree's checkout with the payment session the worker got from Cashfree.
(function () {
  "use strict";
  var button = document.getElementById("cashfree-checkout");
  if (!button || typeof window.Cashfree !== "function") { return; }
  button.addEventListener("click", function () {
    var cashfree = window.Cashfree({ mode: button.getAttribute("data-mode") });
    cashfree.checkout({ paymentSessionId: button.getAttribute("data-session"),
                        redirectTarget: "_self" });
  });
})();
