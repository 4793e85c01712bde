// Dashboard: tell the server the browser's time zone (times are shown in it), once.
(function () {
  "use strict";
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=") === -1 && !sessionStorage.getItem("tz-sent")) {
      sessionStorage.setItem("tz-sent", "1");
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/dashboard; SameSite=Lax; max-age=31536000";
      window.location.reload();
    }
  } catch (e) { /* keep UTC */ }
})();
